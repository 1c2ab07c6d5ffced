// Hand-written: one project, three procedures, named arguments everywhere.
project 'Corpus Build', description: 'Compile, test and package', {

  procedure 'Compile', description: 'Builds one branch', resourceName: 'linux-builders', {
    formalParameter 'branch', defaultValue: 'main', required: true, type: 'entry',
        description: 'Branch to build', label: 'Branch'
    formalParameter 'jobs', defaultValue: '4', type: 'entry', label: 'Parallel make jobs'

    step 'checkout', command: 'git checkout $[branch]', shell: 'sh', errorHandling: 'abortProcedure'
    step 'compile', command: 'make -j$[jobs]', shell: 'sh', timeLimit: 30, timeLimitUnits: 'minutes'
    step 'record', command: 'ectool setProperty /myJob/built 1', alwaysRun: false
  }

  procedure 'Test', {
    formalParameter 'suite', defaultValue: 'unit', type: 'select', simpleList: 'unit|integration|all'

    step 'test', command: 'make test SUITE=$[suite]', errorHandling: 'ignore'
    step 'publish results', command: 'ectool setProperty /myJob/report "$[/myJob/jobName]"', alwaysRun: true
  }

  procedure 'Package', {
    step 'tar', command: 'tar czf out.tgz build/', workingDirectory: 'src', logFileName: 'logs/tar.log'
  }
}
