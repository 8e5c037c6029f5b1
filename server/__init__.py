"""The leadtime server: OTLP in, merge-to-deploy lead time out. Built on by the server issue."""
