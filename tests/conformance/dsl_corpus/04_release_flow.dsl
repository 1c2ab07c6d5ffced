// A procedure that calls others through actualParameter in all three spellings.
project 'Corpus Release', {
  procedure 'Release', {
    formalParameter 'version', required: '1', type: 'entry'
    formalParameter 'dryRun', defaultValue: 'false', type: 'checkbox',
        checkedValue: 'true', uncheckedValue: 'false'

    step 'build', subproject: 'Corpus Build', subprocedure: 'Compile',
        actualParameter: [branch: 'release/$[version]', jobs: 8]

    step 'test', {
      subproject = 'Corpus Build'
      subprocedure = 'Test'
      actualParameter 'suite', 'all'
    }

    step 'package', {
      subproject = 'Corpus Build'
      subprocedure = 'Package'
      actualParameter = [:]
    }

    step 'tag', command: 'git tag v$[version]', condition: '$[/javascript "$[dryRun]" != "true"]'
  }
}
