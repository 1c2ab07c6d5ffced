// DisableResume: undoes what EnableResume recorded on a procedure (and on the subprocedures it enabled
// with it): the steps and the parameter it added go, each run condition it set goes back to what it was.
// The step's Python is the plugin's bootstrap, inlined by property reference, followed by entry.py in
// this folder (the jar build checks that the module exists).
def entryPoint = new File(pluginDir, 'dsl/procedures/DisableResume/entry.py').text

procedure 'DisableResume',
    description: 'Undoes EnableResume on a procedure exactly, by the record it left there; dryRun shows the change as a DSL diff.', {

    step 'disableResume',
        description: 'Reads the record of EnableResume and puts the procedure back as it was.',
        shell: '$[/myProject/resume/pythonInterpreter]',
        command: '$[/myProject/resume/bootstrap]' + '\n' + entryPoint
}
