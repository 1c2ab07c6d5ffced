project('Corpus Parentheses') {
  procedure('Scripted', description: 'calls written with parentheses') {
    formalParameter('count', defaultValue: '3', type: 'entry')
    step('loop', command: 'seq $[count]', shell: 'sh');
    step('after') {
      command = 'echo after'
      errorHandling = 'ignore'
    }
    property('meta') {
      property('kind', value: 'scripted')
    }
  }
}
