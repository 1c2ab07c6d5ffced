// ResumableStep: one command that a restarted job skips when the job it restarts already did it.
// The run condition is the plugin's shared one; /myProject is this plugin's project for its own steps.
// Around the command, two Python steps make a skip lossless (the plugin's bootstrap, inlined by property
// reference, then a one-line file of this folder naming the agent module; the jar build checks it):
// restoreOutputs, in a resumed job, brings back what the skipped command produced (its recorded outputs
// files, checked by SHA-256, its properties, output parameters and summary), or makes it run again;
// recordOutputs, after the command succeeded, keeps and records the files its outputs parameter names.
def restoreEntry = new File(pluginDir, 'dsl/procedures/ResumableStep/restore.py').text
def recordEntry = new File(pluginDir, 'dsl/procedures/ResumableStep/record.py').text
// Both end skipped, so the call's outcome is the command's; their conditions spare a fresh run (no
// jobToRestart) and a call without outputs the Python. A condition that cannot tell runs the step.
def inResumedJob = '$[/javascript (function () { try { var v = getProperty("/myJob/jobToRestart"); ' +
    'return (v === undefined || v === null || String(v) === "") ? "false" : "true"; } ' +
    'catch (e) { return "true"; } }())]'

procedure 'ResumableStep',
    description: 'Runs a command, unless the job named by the jobToRestart parameter already completed this step.', {

    step 'restoreOutputs',
        description: 'In a resumed job: restores what the command produced in the job it resumes, or makes it run again.',
        errorHandling: 'abortProcedure',
        condition: inResumedJob,
        shell: '$[/myProject/resume/pythonInterpreter]',
        command: '$[/myProject/resume/bootstrap]' + '\n' + restoreEntry

    step 'runCommand',
        description: 'The command; skipped on a restart when the restarted job already completed it.',
        command: '$[command]',
        shell: '$[shell]',
        workingDirectory: '$[workingDirectory]',
        resourceName: '$[resourceName]',
        condition: '$[/myProject/resume/runCondition]'

    step 'recordOutputs',
        description: 'Keeps and records (size, SHA-256) the files named by outputs, for a later restart.',
        condition: '$[outputs]',
        shell: '$[/myProject/resume/pythonInterpreter]',
        command: '$[/myProject/resume/bootstrap]' + '\n' + recordEntry
}
