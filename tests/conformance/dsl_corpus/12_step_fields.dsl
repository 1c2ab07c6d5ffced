project 'Corpus Fields', {
  procedure 'All Step Fields', resourceName: 'pool-a', workspaceName: 'shared', timeLimit: '2',
      timeLimitUnits: 'hours', jobNameTemplate: 'fields-$[/timestamp yyyyMMdd]', {
    step 'everything', {
      description = 'sets every step field the emulator models'
      command = 'echo hi'
      shell = 'bash -e {0}'
      condition = '1'
      precondition = ''
      alwaysRun = false
      parallel = false
      errorHandling = 'failProcedure'
      timeLimit = '90'
      timeLimitUnits = 'seconds'
      resourceName = 'local'
      workspaceName = 'default'
      workingDirectory = 'work'
      logFileName = 'everything.log'
      postProcessor = 'postp'
      credentialName = 'deployer'
      broadcast = false
      exclusive = '0'
      exclusiveMode = 'none'
      releaseExclusive = '0'
      releaseMode = 'none'
      comment = 'kept for the audit'
    }
  }
}
