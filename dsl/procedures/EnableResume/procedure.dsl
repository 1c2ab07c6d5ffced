// EnableResume: makes an existing procedure resumable in one step: the jobToRestart parameter, a CarryOver
// call first, EC-Resume's run condition on each step that has none (a step's own condition only wrapped
// when asked), and an always-run CreateRestartLink call last. The change is recorded on the procedure so
// that DisableResume undoes it exactly. The step's Python is the plugin's bootstrap, inlined by property
// reference, followed by entry.py in this folder (the jar build checks that the module exists).
def entryPoint = new File(pluginDir, 'dsl/procedures/EnableResume/entry.py').text

procedure 'EnableResume',
    description: 'Makes a procedure resumable: jobToRestart, CarryOver first, the run condition on its steps, CreateRestartLink last; dryRun shows the change as a DSL diff.', {

    step 'enableResume',
        description: 'Reads the procedure, changes it through the API and records the change.',
        shell: '$[/myProject/resume/pythonInterpreter]',
        command: '$[/myProject/resume/bootstrap]' + '\n' + entryPoint
}
