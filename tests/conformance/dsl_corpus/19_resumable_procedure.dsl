// A user procedure made resumable by hand: the shared run condition on each step, the link step last.
project 'Corpus Resumable', {
  procedure 'Nightly', {
    formalParameter 'jobToRestart', defaultValue: '', required: false, type: 'entry',
        label: 'Job to restart', description: 'leave empty for a fresh run'

    step 'prepare', command: 'mkdir -p out', condition: '$[/plugins/EC-Resume/project/resume/runCondition]'
    step 'build', command: 'make', condition: '$[/plugins/EC-Resume/project/resume/runCondition]'
    step 'shard 1', command: 'make test SHARD=1', parallel: true,
        condition: '$[/plugins/EC-Resume/project/resume/runCondition]'
    step 'shard 2', command: 'make test SHARD=2', parallel: true,
        condition: '$[/plugins/EC-Resume/project/resume/runCondition]'
    step 'publish', subproject: 'Corpus Release', subprocedure: 'Release',
        actualParameter: [version: '$[/myJob/jobId]', dryRun: 'true'],
        condition: '$[/plugins/EC-Resume/project/resume/runCondition]'
    step 'restart link', subproject: '/plugins/EC-Resume/project', subprocedure: 'CreateRestartLink',
        alwaysRun: true
  }
}
