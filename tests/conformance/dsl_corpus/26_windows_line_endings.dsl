// Saved on Windows: CR LF line breaks, inside multi-line strings too.
project 'Corpus Windows', {
  procedure 'Line Endings', {
    description = '''first line
second line'''
    step 'script', command: '''\
        echo one
        echo two
        '''.stripIndent()
    step 'escaped', command: 'printf "a\r\nb"'
  }
}
