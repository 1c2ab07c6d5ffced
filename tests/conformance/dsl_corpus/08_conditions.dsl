/*
 * Run conditions as users write them: property references, JavaScript, and a precondition.
 */
project 'Corpus Conditions', {
  procedure 'Conditional Deploy', {
    formalParameter 'target', defaultValue: 'staging', type: 'select', simpleList: 'staging|production'
    formalParameter 'skipTests', defaultValue: '0', type: 'checkbox', checkedValue: '1', uncheckedValue: '0'

    step 'tests', command: 'make test', condition: '$[/javascript "$[skipTests]" == "0"]'
    step 'approve', {
      command = 'echo approved'
      condition = '''$[/javascript
        var t = "$[target]";
        t == "production" ? "true" : "false";
      ]'''
    }
    step 'deploy', command: 'deploy.sh $[target]', precondition: '$[/myJob/approved]'
    step 'smoke', command: 'curl -f https://$[target].example.com/health',
        condition: '$[/javascript myJob.outcome != \'error\']', errorHandling: 'abortJob'
  }
}
