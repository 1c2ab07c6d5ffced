project 'Corpus Exported Project', {
  description = 'A project as generateDsl writes it'
  resourceName = null
  tracked = '1'
  workspaceName = null

  procedure 'Smoke', {
    description = ''
    jobNameTemplate = ''
    projectName = 'Corpus Exported Project'
    resourceName = ''
    timeLimit = ''
    timeLimitUnits = 'minutes'
    workspaceName = ''

    step 'ping', {
      description = ''
      alwaysRun = '0'
      broadcast = '0'
      command = 'curl -fsS https://example.com/health'
      condition = ''
      errorHandling = 'failProcedure'
      exclusiveMode = 'none'
      logFileName = ''
      parallel = '0'
      postProcessor = ''
      precondition = ''
      projectName = 'Corpus Exported Project'
      releaseMode = 'none'
      resourceName = ''
      shell = ''
      timeLimit = ''
      timeLimitUnits = 'minutes'
      workingDirectory = ''
      workspaceName = ''

      // Custom properties
      retries = '2'
    }

    // Custom properties

    property 'ec_customEditorData', {

      // Custom properties

      property 'parameters', {
      }
    }
  }

  // Custom properties

  property 'settings', {
    description = 'project settings'

    // Custom properties
    color = 'blue'

    property 'limits', {
      description = ''
      maxJobs = '5'
    }
  }
  releaseOwner = 'cab'
}
