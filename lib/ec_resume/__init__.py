"""EC-Resume: resume failed CloudBees CD/RO procedure jobs at the failed step."""

import os as _os
import sys as _sys

__version__ = "1.0.0"

# Unpacked by the plugin's bootstrap into its own cache folder (ec_resume-<digest>/, with its .files),
# the agent code keeps the bytecode Python compiles there even when the agent's environment says not to
# write any (PYTHONDONTWRITEBYTECODE, common in container images): that folder is EC-Resume's own, made
# for this, and without it every plugin step compiles every module again (about 20 ms).
_folder = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if (_sys.dont_write_bytecode and _os.path.basename(_folder).startswith("ec_resume-")
        and _os.path.isfile(_os.path.join(_folder, ".files"))):
    _sys.dont_write_bytecode = False
del _folder
