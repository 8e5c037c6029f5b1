// The library's shell script, written into the workspace once per build.
def call() {
    def path = "${env.WORKSPACE_TMP ?: env.WORKSPACE}/leadtime-jenkins.sh"
    writeFile file: path, text: libraryResource('leadtime/leadtime-jenkins.sh')
    sh "chmod +x '${path}'"
    return path
}
