// EC-Resume promotion. ec_setup (META-INF/project.xml) evaluates this with evalDsl and the parameters
// pluginName (EC-Resume-<version>), pluginDir, upgradeAction and otherPluginName. It builds the plugin
// project from the plugin's own files, the way plugin-anatomy.md §3 describes:
//   dsl/properties/**                  folders become property sheets, files properties holding their
//                                      text, with the file extension stripped (resume/runCondition ...)
//   dsl/procedures/<Proc>/procedure.dsl evaluated in this project, bound to pluginKey, pluginName,
//                                      pluginDir and procName
//   dsl/procedures/<Proc>/form.xml     kept as ec_parameterForm; each formElement a formal parameter
// Self-contained (no BasePlugin class): only the DSL verbs project, procedure, property, formalParameter
// and getProperty, plus the JDK and Groovy runtime.

import javax.xml.parsers.DocumentBuilderFactory
import org.codehaus.groovy.control.CompilerConfiguration

pluginKey = '@PLUGIN_KEY@'
pluginName = args.pluginName
pluginDir = args.pluginDir ?: getProperty("/projects/$pluginName/pluginDir").value
PICKER_CATEGORY = 'Utilities'
FORM_TAGS = ['property', 'type', 'label', 'value', 'required', 'documentation', 'condition', 'expansionDeferred']

// Children in name order (the file system's order differs between machines); dot files are skipped.
List<File> children(File folder) {
    File[] found = folder.listFiles()
    return (found == null ? [] : found.toList())
            .findAll { File f -> !f.name.startsWith('.') }
            .sort { File f -> f.name }
}

String propertyNameOf(File file) {
    int dot = file.name.lastIndexOf('.')
    return (file.isFile() && dot > 0) ? file.name.substring(0, dot) : file.name
}

def loadProperties(File folder) {
    children(folder).each { File entry ->
        if (entry.isDirectory()) {
            property propertyNameOf(entry), {
                loadProperties(entry)
            }
        } else {
            property propertyNameOf(entry), value: entry.getText('UTF-8')
        }
    }
}

// A procedure.dsl runs in this script's DSL context, so its `procedure` lands in the current project.
def evalProcedureDsl(File dslFile, Map binding) {
    CompilerConfiguration config = new CompilerConfiguration()
    config.scriptBaseClass = DelegatingScript.name
    config.sourceEncoding = 'UTF-8'
    GroovyShell shell = new GroovyShell(this.class.classLoader, new Binding(binding), config)
    DelegatingScript script = (DelegatingScript) shell.parse(dslFile)
    script.setDelegate(this)
    return script.run()
}

String childText(def element, String tag) {
    def nodes = element.getElementsByTagName(tag)
    return nodes.length > 0 ? nodes.item(0).textContent : null
}

List<Map> formElements(File formXml) {
    def factory = DocumentBuilderFactory.newInstance()
    factory.setFeature('http://apache.org/xml/features/disallow-doctype-decl', true)
    def elements = factory.newDocumentBuilder().parse(formXml).documentElement.getElementsByTagName('formElement')
    List<Map> result = []
    for (int i = 0; i < elements.length; i++) {
        def element = elements.item(i)
        Map fields = [:]
        FORM_TAGS.each { String tag -> fields[tag] = childText(element, tag) }
        result << fields
    }
    return result
}

// What BasePlugin.buildFormalParametersFromFormXml makes of a form element (plugin-anatomy.md §4).
Map formalParameterArgs(Map field) {
    Map parameter = [
        type: (field.type ?: 'entry').trim(),
        label: (field.label ?: '').trim(),
        description: (field.documentation ?: '').trim(),
        required: field.condition?.trim() ? '0' : ((field.required ?: '0').trim() in ['1', 'true'] ? '1' : '0'),
        expansionDeferred: (field.expansionDeferred ?: '').trim() in ['1', 'true'] ? '1' : '0',
    ]
    if (field.value != null) {
        parameter.defaultValue = field.value
    }
    return parameter
}

def applyForm(String procedureName, File formXml) {
    String formText = formXml.getText('UTF-8')
    List<Map> fields = formElements(formXml)
    procedure procedureName, {
        property 'ec_parameterForm', value: formText
        fields.each { Map field ->
            String name = (field.property ?: '').trim()
            if (name && field.type?.trim() != 'header') {
                formalParameter(formalParameterArgs(field), name)  // named arguments come first
            }
        }
    }
}

def pickerXml(String procedureName) {
    return "<step><project>/plugins/${pluginKey}/project</project><procedure>${procedureName}</procedure>" +
            "<category>${PICKER_CATEGORY}</category></step>"
}

def loadProcedures(File proceduresDir) {
    children(proceduresDir).findAll { File folder ->
        folder.isDirectory() && !folder.name.toLowerCase().endsWith('_ignore') &&
                new File(folder, 'procedure.dsl').isFile()
    }.each { File folder ->
        String procName = folder.name
        evalProcedureDsl(new File(folder, 'procedure.dsl'),
                [pluginKey: pluginKey, pluginName: pluginName, pluginDir: pluginDir, procName: procName])
        File form = new File(folder, 'form.xml')
        if (form.isFile()) {
            applyForm(procName, form)
        }
        // The step picker lists the procedure under its category in the step editor of every project.
        property "/server/ec_customEditors/pickerStep/${pluginKey} - ${procName}",
                value: pickerXml(procName), description: "${pluginKey}: ${procName}"
    }
}

project pluginName, {
    property 'ec_keepFilesExtensions', value: 'false'
    property 'ec_formXmlCompliant', value: 'true'
    if (new File(pluginDir, 'htdocs/images/icon-plugin.svg').isFile()) {
        property 'ec_icon', value: 'images/icon-plugin.svg'
    }
    loadProperties(new File(pluginDir, 'dsl/properties'))
    loadProcedures(new File(pluginDir, 'dsl/procedures'))
}
// EC-Resume keeps no configurations or credentials, so an upgrade (args.upgradeAction) has nothing to
// carry over from args.otherPluginName: the new version's settings start from its own defaults.
