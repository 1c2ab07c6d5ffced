project 'Corpus Errors', {
  procedure 'Every Error Handling', description: 'one step for each errorHandling value', {
    step 'fail procedure', command: 'exit 1', errorHandling: 'failProcedure'
    step 'abort procedure', command: 'exit 1', errorHandling: 'abortProcedure'
    step 'abort procedure now', command: 'exit 1', errorHandling: 'abortProcedureNow'
    step 'abort job', command: 'exit 1', errorHandling: 'abortJob'
    step 'abort job now', command: 'exit 1', errorHandling: 'abortJobNow'
    step 'ignore', command: 'exit 1', errorHandling: 'ignore'
    step 'cleanup', command: 'rm -rf tmp', alwaysRun: true
  }
}
