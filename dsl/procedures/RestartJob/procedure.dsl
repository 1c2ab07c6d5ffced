// RestartJob: restarts a completed job of any resumable procedure: the same project and procedure with
// the job's own parameters (overrides applied) and jobToRestart set to it, after printing the plan of
// what the new job will skip and run. The step's Python is the plugin's bootstrap, inlined by property
// reference, followed by entry.py in this folder (the jar build checks that the module exists).
def entryPoint = new File(pluginDir, 'dsl/procedures/RestartJob/entry.py').text

procedure 'RestartJob',
    description: 'Restarts a completed job: the same procedure with its parameters, skipping the steps it completed; prints the plan first.', {

    step 'restartJob',
        description: 'Plans the restart, then launches it (not on a dry run).',
        shell: '$[/myProject/resume/pythonInterpreter]',
        command: '$[/myProject/resume/bootstrap]' + '\n' + entryPoint
}
