"""Small helpers the test modules share."""

from __future__ import annotations

from imdsctl import catalog

#: The real IMDS address, which unit tests reach only through pytest-httpx (the ``imds`` fixture).
BASE = catalog.DEFAULT_ENDPOINT


def ok(result, code: int = 0):
    """Assert a CliRunner result's exit code, showing stdout and stderr if it differs."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result
