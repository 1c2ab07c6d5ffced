"""EC-Resume: resume failed CloudBees CD/RO procedure jobs at the failed step."""

__version__ = "1.0.0"
