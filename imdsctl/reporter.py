"""How the domain tells a person what it is doing: the ``Reporter`` a Session carries.

The domain prints nothing. A note while working (``note``), a ``--debug``
line (``debug``), a spinner or progress while waiting (``spinner``, whose
``with`` value is the status to ``.update(text)``, or None) and an error
said without stopping (``problem``, which returns its exit code) all go
through ``session.reporter``, and so does a long wait's status line
(``status``: the watch's last poll, a person's sign that it is alive).
This one, the default of a Session built from Python, is silent; the
command line gives the Session one that writes to stderr
(imdsctl.ui.terminal.TerminalReporter, with the CLI's hints)::

    from imdsctl import Session
    from imdsctl.ui.terminal import TerminalReporter

    with Session(timeout=10, reporter=TerminalReporter()) as imds:
        ...
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: this module is on the start-up path
    from typing import Any


class _Still:
    """A spinner that does not turn: ``with`` gives None (no status to update)."""

    def __enter__(self) -> Any:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


class Reporter:
    """Says nothing: what a library caller hears unless it asks."""

    def note(self, text: str) -> None:
        """A line for people while working."""

    def debug(self, text: str) -> None:
        """A --debug line: requests, retries, where an answer came from."""

    def spinner(self, text: str) -> Any:
        """A context while waiting; its value is a status (``.update(text)``) or None."""
        return _Still()

    def status(self, text: str) -> None:
        """A status line a person watching sees change in place (``""`` ends
        it): never part of the data, never on a pipe."""

    def problem(self, err: Any) -> int:
        """An error said without raising it (``err``: an ImdsctlError); its exit code."""
        return int(err.exit_code)


#: The silent reporter, the default of every Session.
SILENT = Reporter()
