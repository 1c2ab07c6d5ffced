// CreateRestartLink: the last, always-run step of a resumable procedure. It puts a "Restart this job"
// link on the job (skipping what succeeded, with the job's parameters) and a "Run all steps again" link.
// The Python runs on the agent through the plugin's bootstrap, inlined by property reference.
def entryPoint = '\nrun_plugin_module("ec_resume.procedures.create_restart_link")\n'

procedure 'CreateRestartLink',
    description: 'Adds restart links to the calling job: one that skips the steps this job completed, one that runs all steps again.', {

    step 'createRestartLink',
        description: 'Writes the restart links onto the job.',
        alwaysRun: '1',
        shell: '$[/myProject/resume/pythonInterpreter]',
        command: '$[/myProject/resume/bootstrap]' + entryPoint
}
