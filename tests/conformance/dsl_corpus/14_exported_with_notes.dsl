
procedure 'Rotate Logs', {
  description = '''Compresses yesterday's logs
and removes those older than the retention.'''
  jobNameTemplate = ''
  projectName = 'Corpus Exports'
  resourceName = 'log-hosts'
  timeLimit = '1'
  timeLimitUnits = 'hours'
  workspaceName = ''

  formalParameter 'retentionDays', defaultValue: '14', {
    expansionDeferred = '0'
    label = 'Retention (days)'
    orderIndex = '1'
    required = '1'
    type = 'entry'
  }

  formalParameter 'notes', defaultValue: '''first line

third line''', {
    expansionDeferred = '1'
    orderIndex = '2'
    required = '0'
    type = 'textarea'
  }

  step 'compress', {
    description = ''
    alwaysRun = '0'
    broadcast = '1'
    command = '''find /var/log/app -name '*.log' -mtime +0 -exec gzip {} \\;'''
    condition = ''
    errorHandling = 'failProcedure'
    exclusiveMode = 'none'
    logFileName = 'rotate/compress.log'
    parallel = '0'
    postProcessor = ''
    precondition = ''
    projectName = 'Corpus Exports'
    releaseMode = 'none'
    resourceName = ''
    shell = ''
    timeLimit = ''
    timeLimitUnits = 'minutes'
    workingDirectory = ''
    workspaceName = ''
  }

  step 'prune', {
    description = ''
    alwaysRun = '0'
    broadcast = '1'
    command = 'find /var/log/app -name "*.gz" -mtime +$[retentionDays] -delete'
    condition = ''
    errorHandling = 'ignore'
    exclusiveMode = 'none'
    logFileName = ''
    parallel = '0'
    postProcessor = ''
    precondition = ''
    projectName = 'Corpus Exports'
    releaseMode = 'none'
    resourceName = ''
    shell = ''
    timeLimit = ''
    timeLimitUnits = 'minutes'
    workingDirectory = ''
    workspaceName = ''
  }

  // Custom properties
  lastRotation = ''
  owner = 'sre'
}
