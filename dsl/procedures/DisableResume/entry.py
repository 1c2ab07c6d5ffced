run_plugin_module("ec_resume.procedures.disable_resume", "$[/myProject/resume/agentCodeDigest]")
