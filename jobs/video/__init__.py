"""Video exports: a timeline checked, rendered by an engine, uploaded."""
