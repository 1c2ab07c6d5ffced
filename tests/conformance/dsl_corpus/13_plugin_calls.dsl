project 'Corpus Plugin Calls', {
  procedure 'Resumable Deploy', {
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry',
        description: 'A failed job of this procedure to resume'

    step 'deploy', subproject: '/plugins/EC-Resume/project', subprocedure: 'ResumableStep', {
      actualParameter 'command', 'deploy.sh'
      actualParameter 'jobToRestart', '$[jobToRestart]'
    }
    step 'link', subproject: '/plugins/EC-Resume/project', subprocedure: 'CreateRestartLink',
        alwaysRun: true
    step 'notify', {
      subproject = '/plugins/EC-Core/project'
      subprocedure = 'RunCommand'
      actualParameter = [
        commandToRun: '''\
          echo "finished $[/myJob/jobName]"
          '''.stripIndent(),
        shellToUse: 'sh'
      ]
    }
  }
}
