// Property forms generateDsl and people write: a value with a closure of fields, a value set inside the
// closure, sheets holding both nested properties and assignments, and values that are not strings.
project 'Corpus Property Shapes', {
  property 'helperScript', value: '''\
    #!/bin/sh
    echo "helper for $[/myJob/jobName]"
    '''.stripIndent(), {
    description = 'sourced by the build steps'
    expandable = '0'
  }

  property 'featureFlag', {
    value = 'on'
    expandable = '1'
    description = ''
  }

  property 'limits', description: 'numbers and booleans become text', {
    maxParallel = 4
    strict = true
    property 'timeoutSeconds', value: 600
  }

  procedure 'Uses Properties', {
    property 'ec_customEditorData', {
      property 'parameters', {
        property 'verbose', {
          property 'checkedValue', value: 'yes'
          formType = 'standard'
          property 'uncheckedValue', value: 'no'
        }
      }
    }
    formalParameter 'verbose', defaultValue: 'no', type: 'checkbox', checkedValue: 'yes', uncheckedValue: 'no'
    step 'run helper', {
      command = '$[/myProject/helperScript]'
      postProcessor = '$[/myProject/postp]'
      credentialName = 'builder'
      property 'lastRun', value: '', description: 'set by the step'
    }
  }
}
