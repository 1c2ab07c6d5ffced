project 'Corpus Outputs', {
  procedure 'Provision', description: 'Creates a machine and says where it is', {
    formalParameter 'size', defaultValue: 'small', type: 'radio'

    formalOutputParameter 'hostName', description: 'Name of the new machine'
    formalOutputParameter 'address', {
      description = 'Its IP address'
    }
    formalOutputParameter 'created'

    step 'create', command: '''\
        host=vm-$[/myJob/jobId]
        ectool setOutputParameter hostName "$host"
        ectool setOutputParameter address 10.0.0.7
        ectool setOutputParameter created "$(date +%s)"
        '''.stripIndent()
  }

  procedure 'Use Machine', {
    step 'provision', subprocedure: 'Provision', actualParameter: [size: 'large']
    step 'report', command: 'echo $[/myJob/jobSteps/provision/outputParameters/hostName]'
  }
}
