run_plugin_module("ec_resume.procedures.enable_resume", "$[/myProject/resume/agentCodeDigest]")
