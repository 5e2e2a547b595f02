"""The `export-service` command line: the web process, workers, the dev stack, exports and jobs."""
