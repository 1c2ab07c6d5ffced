run_plugin_module("ec_resume.procedures.record_outputs")
