project 'Corpus Checks', {
  procedure 'Lint And Scan', description: 'Three checks side by side, then a summary', {
    step 'lint', command: 'make lint', parallel: true
    step 'license scan', command: 'make licenses', parallel: true, errorHandling: 'ignore'
    step 'security scan', {
      command = 'make security'
      parallel = '1'
      errorHandling = 'failProcedure'
    }
    step 'summary', command: 'echo done', alwaysRun: '1'
  }
}
