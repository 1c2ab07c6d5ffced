
procedure 'Archive Projects', {
  description = 'Writes every project to an XML file, one file a project.'
  jobNameTemplate = 'archive-$[/increment /myProject/archiveCounter]'
  projectName = 'Corpus Exports'
  resourceName = null
  timeLimit = ''
  timeLimitUnits = null
  workspaceName = null

  formalParameter 'withAcls', defaultValue: 'false', {
    description = 'Set to "true" to write the access control lists too.'
    checkedValue = 'true'
    expansionDeferred = '0'
    label = 'Access control lists'
    orderIndex = null
    required = '0'
    type = 'checkbox'
    uncheckedValue = 'false'
  }

  formalParameter 'targetDir', defaultValue: '/var/backups/cdro', {
    description = '''Folder the files go to.
It is created when missing.'''
    expansionDeferred = '0'
    label = 'Target folder'
    orderIndex = null
    required = '1'
    type = 'entry'
  }

  step 'archive', {
    description = 'One export call per project'
    alwaysRun = '0'
    broadcast = '0'
    command = '''use strict;
my $dir = "$[targetDir]";
mkdir $dir unless -d $dir;
print "writing to $dir\\n";
'''
    condition = null
    errorHandling = 'failProcedure'
    exclusiveMode = 'none'
    logFileName = null
    parallel = '0'
    postProcessor = null
    precondition = null
    projectName = 'Corpus Exports'
    releaseMode = 'none'
    resourceName = null
    shell = 'ec-perl'
    subprocedure = null
    subproject = null
    timeLimitUnits = null
    workingDirectory = null
    workspaceName = null
  }

  step 'archiveAll', {
    description = ''
    alwaysRun = '0'
    broadcast = '0'
    command = null
    condition = ''
    errorHandling = 'failProcedure'
    exclusiveMode = 'none'
    logFileName = null
    parallel = '0'
    postProcessor = null
    precondition = ''
    projectName = 'Corpus Exports'
    releaseMode = 'none'
    resourceName = ''
    shell = null
    subprocedure = 'Archive Everything'
    subproject = ''
    timeLimit = ''
    timeLimitUnits = 'minutes'
    workingDirectory = null
    workspaceName = ''
    actualParameter '''includeUsers''', '''false'''
    actualParameter '''pattern''', ''''''
    actualParameter '''targetDir''', '''$[targetDir]/all'''
  }

  // Custom properties

  property 'ec_customEditorData', {

    // Custom properties

    property 'parameters', {

      // Custom properties

      property 'withAcls', {

        // Custom properties
        checkedValue = 'true'
        formType = 'standard'
        initiallyChecked = '0'
        uncheckedValue = 'false'
      }

      property 'targetDir', {

        // Custom properties
        formType = 'standard'
      }
    }
  }
  ec_parameterForm = '''<editor>
  <formElement>
    <label>Target folder</label>
    <property>targetDir</property>
    <type>entry</type>
    <required>1</required>
  </formElement>
</editor>'''
}
