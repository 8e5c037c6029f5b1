// leadtimeStep('unit-tests', 'make test'): run the shell line as a step span; its exit code is
// the step's, so a failing command fails the stage as it would without leadtime.
def call(String name, String command) {
    sh "${_leadtimeQuote(_leadtimeScript())} step ${_leadtimeQuote(name)} ${_leadtimeQuote(command)}"
}
