"""Support: the bundle (collect, its archive, redaction), the diagnosis (doctor), snapshot
diffs, and the facts of the environment they read."""
