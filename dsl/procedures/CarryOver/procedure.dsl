// CarryOver: the first step of a resumable procedure. In a job that resumes another, it copies the
// resumed job's custom properties and output parameters into this job before any resumable step runs,
// and gives each top-level step that the resume skips what that step produced in the earlier job. The
// step's Python is the plugin's bootstrap, inlined by property reference, followed by entry.py in this
// folder (the jar build checks that the module exists).
def entryPoint = new File(pluginDir, 'dsl/procedures/CarryOver/entry.py').text

procedure 'CarryOver',
    description: 'In a resumed job: copies what the resumed job and the skipped steps produced (properties, output parameters, summaries) into this job.', {

    step 'carryOver',
        description: 'Copies the properties of the resumed job into this job, with their provenance.',
        shell: '$[/myProject/resume/pythonInterpreter]',
        command: '$[/myProject/resume/bootstrap]' + '\n' + entryPoint
}
