"""Kedro pipelines: wiring of library functions as nodes (one folder per pipeline)."""
