project 'Corpus Config', description: 'Settings kept as properties', {
  property 'environments', description: 'One sheet per target', {
    property 'staging', {
      property 'url', value: 'https://staging.example.com', description: 'entry point'
      property 'replicas', value: '2'
    }
    property 'production', description: 'handle with care', {
      property 'url', value: 'https://www.example.com'
      property 'replicas', value: 6
      property 'approvers', {
        property 'primary', value: 'ops-lead'
      }
    }
  }
  property 'defaultTarget', value: 'staging', description: 'used when none is given', expandable: false
  property 'emptyNote'
  property 'emptySheet', { }

  procedure 'Deploy', {
    property 'lastTarget', value: '', description: 'written by the deploy step'
    step 'deploy', command: 'echo $[/myProject/environments/$[/myProject/defaultTarget]/url]', {
      property 'notes', description: 'per-step notes', {
        property 'owner', value: 'platform team'
      }
    }
  }
}
