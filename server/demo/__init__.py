"""`leadtime demo`: a real git repository with weeks of history, a real pipeline per mergeset
through `leadtime step` and `leadtime deploy`, and a server on SQLite to look at it all.

history.py makes the repository, pipelines.py runs and re-times the pipelines, run.py puts
them together and serves the result.
"""
