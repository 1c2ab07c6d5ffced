"""commander_emulator: an embedded CloudBees CD/RO emulator served over real HTTP.

See README.md for what is emulated and INTERNALS.md for how the modules fit together.
"""
