"""Developer-side tooling behind build.py: packaging, the demo, serving the emulator, installing."""
