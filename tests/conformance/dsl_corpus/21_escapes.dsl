project 'Corpus Escapes', {
  procedure 'Quoting', {
    step 'single', command: 'echo \'quoted\' and \\backslash'
    step 'double', command: "echo \"quoted\" and \$HOME"
    step 'unicode', command: 'echo caf\u00e9'
    step 'tabs', command: 'printf "a\\tb\\n"'
    step 'triple double', command: """echo "one" 'two'"""
    step 'continued', command: 'echo this \
continues'
  }
}
