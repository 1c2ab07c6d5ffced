run_plugin_module("ec_resume.procedures.restart_job")
