run_plugin_module("ec_resume.procedures.create_restart_link", "$[/myProject/resume/agentCodeDigest]")
