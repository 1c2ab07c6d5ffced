run_plugin_module("ec_resume.procedures.restore_outputs")
