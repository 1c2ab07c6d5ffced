// The shape of plugin test suites' DSL: parameters kept in maps and lists, declared and passed in loops.
def projName = args.projectName
def procName = 'Run Checks'
def parameters = [
    config       : 'default',
    branch       : 'main',
    resultSheet  : '',
]
def checks = ['lint', 'unit', 'integration']

project projName, {
  procedure procName, {
    resourceName = args.resourceName ?: 'local'

    parameters.each { name, defaultValue ->
      formalParameter name, defaultValue: defaultValue, {
        type = 'textarea'
      }
    }

    checks.each { check ->
      step "check ${check}", {
        command = 'make ' + check
        errorHandling = 'ignore'
      }
    }

    step procName, {
      description = ''
      subprocedure = 'Checks'
      subproject = '/plugins/EC-Checks/project'
      parameters.each { entry ->
        actualParameter entry.key, '$[' + entry.key + ']'
      }
    }

    checks.each {
      property "last_${it}", value: '', description: "outcome of ${it}"
    }
  }
}
