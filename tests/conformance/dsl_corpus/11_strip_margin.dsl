project 'Corpus Margins', {
  procedure 'Report', {
    step 'write report', command: '''\
        |cat > report.txt <<TXT
        |job: $[/myJob/jobName]
        |  outcome so far: $[/myJob/outcome]
        |TXT'''.stripMargin()
    step 'hash margins', command: '''\
        #echo one
        #echo two'''.stripMargin('#').trim()
    step 'trimmed', command: '''
        echo trimmed
    '''.trim()
  }
}
