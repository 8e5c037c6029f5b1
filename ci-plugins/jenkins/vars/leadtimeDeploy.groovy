// leadtimeDeploy('production', './deploy.sh'): run the shell line as a deploy to the environment.
def call(String environment, String command) {
    sh "${_leadtimeQuote(_leadtimeScript())} deploy ${_leadtimeQuote(environment)} ${_leadtimeQuote(command)}"
}
