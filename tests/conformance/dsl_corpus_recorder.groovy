// A recorder runtime for CD/RO DSL files, run under a real Groovy (tests/conformance/test_dsl_corpus.py).
// It evaluates each file given the way evalDsl would, with every DSL method recording what it would create
// (kind and arguments, in the order the calls happen, a closure's assignments landing in its object's
// arguments), and prints the records as JSON. The test compares them with the emulator's DslOps for the
// same file, so strings (''' continuation, stripIndent, GStrings), maps, closures and variables are
// evaluated by Groovy itself, not by the emulator's reader.
//
// usage: groovy dsl_corpus_recorder.groovy <setup.json> java,groovy <file.dsl>...
//   setup.json: {"schema": {"<kind>": {"nameArg": "...", "fields": [...]}}, "args": {...}}: the fields of
//   each kind (commander_emulator.schema) and what a file sees as `args` (evalDsl's parameters)
//   java,groovy: the modes to read every file in, in this order (java first: the groovy mode replaces
//   String.stripIndent() for the rest of the run): whose String.stripIndent() runs, Java's own or
//   Groovy's GDK method (what runs on a Java before 15). Prints {"<mode>": {"<file name>": [ops]}}.

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.runtime.StringGroovyMethods

class Block {
    static final List VERBS = ['project', 'procedure', 'step', 'formalParameter', 'formalOutputParameter',
                               'property', 'actualParameter']
    static Map schema
    final List ops
    final String kind
    final Map op
    final Map context   // projectName / procedureName / stepName the children inherit
    final String propPath
    int nested = 0

    Block(List ops, String kind, Map op, Map context, String propPath) {
        this.ops = ops; this.kind = kind; this.op = op; this.context = context; this.propPath = propPath
    }

    Object methodMissing(String verb, Object argsObj) {
        if (!(verb in VERBS)) { throw new MissingMethodException(verb, Block, argsObj as Object[]) }
        List args = (argsObj as Object[]).toList()
        Map named = (args && args[0] instanceof Map) ? (Map) args.remove(0) : [:]
        Closure body = (args && args[-1] instanceof Closure) ? (Closure) args.remove(args.size() - 1) : null
        if (verb == 'actualParameter') {
            op.actualParameter = (op.actualParameter ?: []) + [[actualParameterName: str(args[0]),
                                                                value: str(args[1])]]
            return null
        }
        String name = str(args[0])
        Map rec = verb == 'project' ? [projectName: name] : new LinkedHashMap(context)
        if (verb == 'procedure') { rec.projectName = context.projectName; rec.procedureName = name }
        else if (verb == 'property') { rec.propertyName = kind == 'property' ? "${propPath}/${name}" as String : name }
        else if (verb != 'project') { rec[schema[verb].nameArg] = name }
        named.each { k, v ->
            if (k == 'actualParameter') {
                rec.actualParameter = v.collect { pk, pv -> [actualParameterName: str(pk), value: str(pv)] }
            } else if (v != null) { rec[k as String] = str(v) }
        }
        ops << [kind: verb, args: rec]
        if (verb == 'property') { nested++ }
        Map innerContext = new LinkedHashMap(context)
        if (verb == 'project') { innerContext = [projectName: name] }
        if (verb == 'procedure') { innerContext = [projectName: rec.projectName, procedureName: name] }
        if (verb == 'step') { innerContext.stepName = name }
        Block inner = new Block(ops, verb, rec, innerContext, verb == 'property' ? rec.propertyName : null)
        if (body != null) {
            body.delegate = inner
            body.resolveStrategy = Closure.DELEGATE_FIRST
            body.call()
        }
        if (verb == 'property' && body != null && (inner.nested > 0 || !rec.containsKey('value'))) {
            rec.sheet = '1'
        }
        return null
    }

    void setProperty(String name, Object value) {
        if (name == 'nested') { this.@nested = value as int; return }
        if (name == 'projectName') {  // names (or repeats) the object's project
            op.projectName = str(value)
            context.projectName = str(value)
            return
        }
        if (name == 'actualParameter') {
            op.actualParameter = value.collect { k, v -> [actualParameterName: str(k), value: str(v)] }
            return
        }
        if (name in (schema[kind]?.fields ?: [])) {
            if (value == null) { op.remove(name) } else { op[name] = str(value) }
            return
        }
        // Any other name: a custom property of the object (a path below a property block).
        String path = kind == 'property' ? "${propPath}/${name}" as String : name
        ops << [kind: 'property', args: new LinkedHashMap(context) + [propertyName: path, value: str(value)]]
        nested++
    }

    Object getProperty(String name) {
        if (name == 'nested') { return this.@nested }
        throw new MissingPropertyException(name, Block)
    }

    static String str(Object value) { value == null ? null : value.toString() }
}

def setup = new JsonSlurper().parse(new File(args[0]))
Block.schema = setup.schema
def results = [:]
args[1].split(',').each { mode ->
    if (mode == 'groovy') {
        // What runs on a Java before 15: the GDK stripIndent, which Java 15's String.stripIndent() hides.
        String.metaClass.stripIndent = { -> StringGroovyMethods.stripIndent((CharSequence) delegate) }
    }
    def byFile = [:]
    args.drop(2).eachWithIndex { path, index ->
        def ops = []
        def config = new CompilerConfiguration()
        config.scriptBaseClass = DelegatingScript.class.name
        def shell = new GroovyShell(this.class.classLoader, new Binding([args: setup.args]), config)
        def script = shell.parse(new File(path).getText('UTF-8'), "CorpusFile${index}")  // a class name
        script.setDelegate(new Block(ops, 'top', [:], [:], null))
        script.run()
        byFile[new File(path).name] = ops
    }
    results[mode] = byFile
}
println JsonOutput.toJson(results)
