def projectName = 'Corpus Variables'
def tool = [name: 'mvn', flags: '-B -q']
def suffix = '-nightly'

project projectName, {
  procedure "Build${suffix}", description: "Runs ${tool.name} every night", {
    def goals = 'clean verify'
    step 'maven', command: "${tool.name} ${tool.flags} " + goals
    step 'note', command: 'echo ' + "built by $tool.name" + ' for ' + projectName
    step 'script', command: """\
        echo "goals: ${goals}"
          echo "tool: $tool.name"
        """.stripIndent()
  }
}
