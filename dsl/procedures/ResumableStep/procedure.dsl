// ResumableStep: one command that a restarted job skips when the job it restarts already did it.
// The run condition is the plugin's shared one; /myProject is this plugin's project for its own steps.
procedure 'ResumableStep',
    description: 'Runs a command, unless the job named by the jobToRestart parameter already completed this step.', {

    step 'runCommand',
        description: 'The command; skipped on a restart when the restarted job already completed it.',
        command: '$[command]',
        shell: '$[shell]',
        workingDirectory: '$[workingDirectory]',
        resourceName: '$[resourceName]',
        condition: '$[/myProject/resume/runCondition]'
}
