// A shell word for any string: single quotes, with each ' written as '\''.
def call(String text) {
    return "'" + text.replace("'", "'\\''") + "'"
}
