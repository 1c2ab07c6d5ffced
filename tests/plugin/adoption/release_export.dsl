// A 12-step procedure as `ectool generateDsl` exports it, before EC-Resume: formalParameter closures,
// one subprocedure (Package, in the same project), two steps with run conditions of their own (migrate
// runs when runMigrations is true, docs only when publishDocs is true). @PROJECT@ and @MARKERS@ are filled
// in by the test; every work step appends a line to its own marker file.

project '@PROJECT@', {
  description = ''

  procedure 'Package', {
    description = 'Compresses and signs the build'
    jobNameTemplate = null
    projectName = '@PROJECT@'
    timeLimitUnits = 'minutes'

    formalParameter 'version', defaultValue: '1.0', {
      expansionDeferred = '0'
      label = 'Version'
      orderIndex = '1'
      required = '1'
      type = 'entry'
    }

    step 'compress', {
      command = '''\
        echo run >> @MARKERS@/compress
        '''.stripIndent()
      shell = 'sh'
      timeLimitUnits = 'minutes'
    }

    step 'sign', {
      command = 'echo run >> @MARKERS@/sign'
      errorHandling = 'failProcedure'
    }
  }

  procedure 'Release', {
    description = 'Builds, packages and deploys'
    jobNameTemplate = null
    projectName = '@PROJECT@'
    timeLimitUnits = 'minutes'

    formalParameter 'runMigrations', defaultValue: 'true', {
      checkedValue = 'true'
      expansionDeferred = '0'
      label = 'Run migrations'
      orderIndex = '1'
      required = '0'
      type = 'checkbox'
      uncheckedValue = 'false'
    }

    formalParameter 'publishDocs', defaultValue: 'false', {
      checkedValue = 'true'
      expansionDeferred = '0'
      label = 'Publish docs'
      orderIndex = '2'
      required = '0'
      type = 'checkbox'
      uncheckedValue = 'false'
    }

    formalParameter 'target', defaultValue: 'staging', {
      description = 'Where to deploy'
      expansionDeferred = '0'
      label = null
      orderIndex = '3'
      required = '0'
      type = 'entry'
    }

    step 'checkout', {
      command = 'echo run >> @MARKERS@/checkout'
      description = 'Gets the sources'
    }

    step 'build', {
      command = '''\
        echo run >> @MARKERS@/build
        echo "built for $[target]"
        '''.stripIndent()
      timeLimit = '30'
      timeLimitUnits = 'minutes'
    }

    step 'unit tests', {
      command = 'echo run >> @MARKERS@/unit'
      errorHandling = 'abortJob'
    }

    step 'package', {
      subprocedure = 'Package'
      subproject = '@PROJECT@'
      actualParameter 'version', '2.$[target]'
    }

    step 'migrate', {
      command = 'echo run >> @MARKERS@/migrate'
      condition = '$[runMigrations]'
    }

    step 'docs', {
      command = 'echo run >> @MARKERS@/docs'
      condition = '$[/javascript "$[publishDocs]" == "true" // only when asked]'
    }

    step 'deploy', {
      command = '''\
        echo run >> @MARKERS@/deploy
        test -f @MARKERS@/deploy.fixed
        '''.stripIndent()
    }

    step 'smoke', {
      command = 'echo run >> @MARKERS@/smoke'
    }

    step 'report', {
      command = 'echo run >> @MARKERS@/report'
    }

    step 'archive', {
      command = 'echo run >> @MARKERS@/archive'
    }

    step 'tag', {
      command = 'echo run >> @MARKERS@/tag'
    }

    step 'cleanup', {
      alwaysRun = '1'
      command = 'echo run >> @MARKERS@/cleanup'
    }
  }
}
