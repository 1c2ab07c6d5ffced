
procedure 'Pull Container Image', {
  projectName = 'Corpus Exports'
  timeLimit = '0'

  formalParameter 'registryUrl', {
    description = '''Address of the image registry.
For example: registry.example.com'''
    label = 'Registry'
    orderIndex = '1'
    required = '1'
    type = 'entry'
  }

  formalParameter 'needsLogin', {
    description = 'Tick when the registry asks for a login'
    checkedValue = 'yes'
    label = 'Registry needs a login'
    orderIndex = '2'
    required = '0'
    type = 'checkbox'
    uncheckedValue = 'no'
  }

  formalParameter 'registryLogin', {
    description = 'The stored credential used to log in'
    dependsOn = 'needsLogin'
    label = 'Login'
    orderIndex = '3'
    renderCondition = '${needsLogin} == yes'
    type = 'credential'
  }

  formalParameter 'image', {
    label = 'Image'
    orderIndex = '4'
    required = '1'
    type = 'entry'
  }

  step 'pull', {
    command = '''\
      set -e
      if [ "$[needsLogin]" = yes ]; then
        echo "logging in to $[registryUrl]"
      fi
      echo "pulling $[image]"
      '''.stripIndent()
    shell = 'bash'
    timeLimit = '15'
    timeLimitUnits = 'minutes'
  }
}
