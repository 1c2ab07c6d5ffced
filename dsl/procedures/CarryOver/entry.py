run_plugin_module("ec_resume.procedures.carry_over")
