
procedure 'Deploy Service', {
  description = 'Deploys one service and checks it'
  projectName = 'Corpus Exports'
  timeLimitUnits = 'minutes'

  formalParameter 'service', {
    required = '1'
    type = 'entry'
  }

  formalParameter 'jobToRestart', defaultValue: '', {
    description = 'set by EC-Resume when a job is restarted'
    expansionDeferred = '0'
    label = null
    orderIndex = null
    required = '0'
    type = 'entry'
  }

  formalOutputParameter 'deployedVersion', {
    description = ''
  }

  step 'fetch', {
    subprocedure = 'Pull Container Image'
    subproject = 'Corpus Exports'
    actualParameter 'image', 'registry.example.com/$[service]:latest'
    actualParameter 'needsLogin', 'no'
    actualParameter 'registryUrl', 'registry.example.com'
  }

  step 'roll out', {
    command = '''\
      kubectl rollout restart deployment/$[service]
      ectool setOutputParameter deployedVersion latest
      '''.stripIndent()
    condition = '$[/myProject/resume/runCondition]'
    errorHandling = 'abortProcedure'
  }

  step 'check', {
    alwaysRun = '1'
    command = 'kubectl rollout status deployment/$[service] --timeout=120s'
    timeLimit = '3'
    timeLimitUnits = 'minutes'
  }
}
