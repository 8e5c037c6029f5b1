// leadtimePipeline { ... }: install leadtime, note the run's start, run the body, and close the
// run's root span with how it ended, also when the body failed or was aborted.
import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException

def call(Closure body) {
    def script = _leadtimeQuote(_leadtimeScript())
    sh "${script} install && ${script} start"
    def result = 'FAILURE'
    try {
        body()
        result = currentBuild.currentResult  // SUCCESS, or UNSTABLE after failed tests
    } catch (FlowInterruptedException aborted) {
        result = 'ABORTED'
        throw aborted
    } finally {
        sh "${script} end ${_leadtimeQuote(result)}"
    }
}
