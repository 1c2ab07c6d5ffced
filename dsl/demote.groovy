// EC-Resume demotion. ec_setup evaluates this with the same parameters as promote.groovy. The plugin
// project stays (the server keeps a demoted version until it is uninstalled); what promotion put outside
// it, the step pickers, goes, so the step editor stops offering a version that is no longer promoted.

pluginKey = '@PLUGIN_KEY@'
pluginName = args.pluginName
pluginDir = args.pluginDir ?: getProperty("/projects/$pluginName/pluginDir").value

// The pickers name /plugins/<key>/project, not a version: during an upgrade the new version's
// promotion owns them, so they stay [U: order of the old version's demote and the new one's promote].
if (args.upgradeAction != 'upgrade') {
    File proceduresDir = new File(pluginDir, 'dsl/procedures')
    (proceduresDir.listFiles() ?: []).findAll { File folder -> folder.isDirectory() }.each { File folder ->
        String pickerPath = "/server/ec_customEditors/pickerStep/${pluginKey} - ${folder.name}"
        if (getProperty(pickerPath, suppressNoSuchPropertyException: true)) {
            deleteProperty propertyName: pickerPath
        }
    }
}
