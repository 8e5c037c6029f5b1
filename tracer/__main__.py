"""`python -m leadtime.tracer` is the `leadtime` command."""

from leadtime.tracer.launch import main

main()
