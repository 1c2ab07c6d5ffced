project 'Corpus Indents', {
  procedure 'Indent Forms', description: 'the ways people indent a multi-line command', {
    // The closing quotes at column 0: Java's stripIndent keeps the indent, Groovy's removes it.
    step 'closing at column zero', command: '''\
        echo one
          echo two
'''.stripIndent()
    // The closing quotes indented like the text: both remove it.
    step 'closing indented', command: '''\
        echo one
          echo two
        '''.stripIndent()
    // No continuation: the command starts with a newline.
    step 'leading newline', command: '''
        echo three
        '''.stripIndent()
    // Trailing blanks on a line, and a tab.
    step 'blanks', command: '''\
	echo tab   
	  echo more
	'''.stripIndent()
    step 'no strip', command: '''\
    echo kept
    '''
  }
}
