// The shape plugin test suites feed evalDsl: names come in as parameters (args), a project line without
// a closure, then a top-level procedure that names its project in the closure.
def projName = args.projectName
def resource = args.resourceName ?: 'local'
def attempts = args.retries
def workspace = args.workspaceName ?: ''
def owner = args.owner ?: args.team ?: 'specs'

project projName

procedure 'Provision Fixture', {
  description = ''
  jobNameTemplate = ''
  projectName = projName
  resourceName = resource
  timeLimit = ''
  timeLimitUnits = 'minutes'
  workspaceName = workspace

  formalParameter 'configName', defaultValue: '', {
    description = ''
    expansionDeferred = '0'
    label = null
    orderIndex = null
    required = '1'
    type = 'entry'
  }

  step 'Provision Fixture', {
    description = ''
    command = null
    condition = ''
    projectName = projName
    resourceName = '$[/myProcedure/resourceName]'
    subprocedure = 'Provision'
    subproject = '/plugins/EC-Example/project'
    actualParameter 'config', '$[configName]'
    actualParameter 'attempts', "${attempts}"
  }

  // Custom properties
  fixtureOwner = owner
}
