project 'Corpus Job Properties', {
  property 'counters', {
    property 'runs', value: '0', description: 'incremented by every job'
  }
  procedure 'Count Runs', jobNameTemplate: 'count-$[/increment /myProject/counters/runs]', {
    step 'elapsed', command: 'echo "so far $[/myJob/elapsedTime] ms on $[/server/hostName]"'
    step 'plugins', command: 'ls "$[/server/settings/pluginsDirectory]"', errorHandling: 'ignore'
    step 'write', command: 'ectool setProperty /myJob/report/summary "run $[/myProject/counters/runs]"'
  }
}
