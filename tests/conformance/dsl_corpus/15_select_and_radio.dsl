project 'Corpus Forms', {
  procedure 'Choose Region', {
    formalParameter 'region', {
      type = 'select'
      defaultValue = 'eu-west-1'
      simpleList = 'eu-west-1|us-east-1|ap-south-1'
      label = 'Region'
      orderIndex = 1
      required = true
      description = 'Where the stack goes'
    }
    formalParameter 'tier', {
      type = 'radio'
      defaultValue = 'standard'
      orderIndex = 2
    }
    formalParameter 'header', type: 'header', label: 'Advanced', orderIndex: '3'
    formalParameter 'extraArgs', {
      type = 'textarea'
      orderIndex = '4'
      expansionDeferred = true
    }
    step 'show', command: 'echo $[region] $[tier] $[extraArgs]'
  }
}
