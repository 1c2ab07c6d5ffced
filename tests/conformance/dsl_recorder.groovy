// A recorder runtime for the plugin's procedure DSL, run under a real Groovy (tests/conformance).
// It evaluates every dsl/procedures/*/procedure.dsl the way promotion does (binding pluginName, pluginKey,
// pluginDir, procName) and reads each form.xml beside it, then prints what it saw as JSON, so a test can
// compare it with what the emulator's strict DSL reader makes of the same files.
//
// usage: groovy dsl_recorder.groovy <pluginDir> <pluginKey> <pluginVersion>

import groovy.json.JsonOutput
import org.codehaus.groovy.control.CompilerConfiguration

class Recorder {
    List procedures = []
    Map current = null      // the procedure being defined
    Map currentStep = null  // the step being defined, inside its closure

    private static Map withName(Map args, String key, String name) {
        Map out = [:]
        args.each { k, v -> out[k as String] = v }
        out[key] = name
        return out
    }

    private void run(Closure body) {
        if (body != null) {
            body.delegate = this
            body.resolveStrategy = Closure.DELEGATE_FIRST
            body.call()
        }
    }

    def procedure(Map args, String name, Closure body = null) {
        current = withName(args, 'procedureName', name)
        current.steps = []
        current.formalParameters = []
        current.properties = []
        procedures << current
        run(body)
        current = null
    }
    def procedure(String name, Closure body = null) { procedure([:], name, body) }

    def step(Map args, String name, Closure body = null) {
        currentStep = withName(args, 'stepName', name)
        if (currentStep.actualParameter instanceof Map) {
            currentStep.actualParameter = currentStep.actualParameter.collect { k, v ->
                [actualParameterName: k as String, value: v as String] }
        }
        current.steps << currentStep
        run(body)
        currentStep = null
    }
    def step(String name, Closure body = null) { step([:], name, body) }

    def actualParameter(String name, Object value) {
        if (currentStep.actualParameter == null) { currentStep.actualParameter = [] }
        currentStep.actualParameter << [actualParameterName: name, value: value as String]
    }

    def formalParameter(Map args, String name, Closure body = null) {
        current.formalParameters << withName(args, 'formalParameterName', name)
    }
    def formalParameter(String name, Closure body = null) { formalParameter([:], name, body) }

    def property(Map args, String name, Closure body = null) {
        (current ?: [properties: []]).properties << withName(args, 'propertyName', name)
    }
    def property(String name, Closure body = null) { property([:], name, body) }

    // `command = '...'` inside a step closure, `description = '...'` inside a procedure closure
    void setProperty(String name, Object value) {
        if (currentStep != null) { currentStep[name] = value }
        else if (current != null) { current[name] = value }
        else { throw new MissingPropertyException(name, Recorder) }
    }
}

def pluginDir = new File(args[0]).canonicalFile
def pluginKey = args[1]
def pluginName = pluginKey + '-' + args[2]
def recorder = new Recorder()
def forms = [:]

new File(pluginDir, 'dsl/procedures').listFiles().findAll { it.isDirectory() && !it.name.endsWith('_ignore') }
    .sort { it.name }.each { dir ->
        def config = new CompilerConfiguration()
        config.scriptBaseClass = DelegatingScript.class.name
        def binding = new Binding([pluginName: pluginName, pluginKey: pluginKey,
                                   pluginDir: pluginDir.path, procName: dir.name])
        def shell = new GroovyShell(this.class.classLoader, binding, config)
        def script = shell.parse(new File(dir, 'procedure.dsl'))
        int before = recorder.procedures.size()
        script.setDelegate(recorder)
        script.run()
        def form = new File(dir, 'form.xml')
        if (form.exists()) {
            def parsed = new XmlSlurper().parse(form)
            def elements = parsed.formElement.collect { el ->
                def out = [formalParameterName: el.property.text(), type: el.type.text(),
                           required: el.required.text(), label: el.label.text(),
                           description: el.documentation.text()]
                if (el.value.size() > 0) { out.defaultValue = el.value.text() }
                return out
            }
            recorder.procedures[before..<recorder.procedures.size()].each { it.form = elements }
        }
    }

println JsonOutput.toJson([pluginName: pluginName, procedures: recorder.procedures])
