// CreateRestartLink: the last, always-run step of a resumable procedure. It puts a "Restart this job"
// link on the job (skipping what succeeded, with the job's parameters) and a "Run all steps again" link.
// The step's Python is the plugin's bootstrap, inlined by property reference, followed by entry.py in
// this folder: the one call that names the agent module to run (the jar build checks that it exists).
def entryPoint = new File(pluginDir, 'dsl/procedures/CreateRestartLink/entry.py').text

procedure 'CreateRestartLink',
    description: 'Adds restart links to the calling job: one that skips the steps this job completed, one that runs all steps again.', {

    step 'createRestartLink',
        description: 'Writes the restart links onto the job.',
        alwaysRun: '1',
        shell: '$[/myProject/resume/pythonInterpreter]',
        command: '$[/myProject/resume/bootstrap]' + '\n' + entryPoint
}
