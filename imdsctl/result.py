"""Result: what a domain function returns, the data and how to show it."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: this module is on the start-up path
    from typing import Any, Callable, Optional

#: ``Result.quiet`` for a command whose data went out as it came: print nothing at all.
ALWAYS = "always"


class Result:
    """What a command returns: the data, and how to show it (after knack's
    CommandResultItem). render() reads it; a command never prints.

    * ``exit_code``: the exit code after the data is shown (a check that ran
      and found a problem still shows its findings);
    * ``quiet``: print only when -o or -q asks (``wait`` in a boot script);
      ``Result.streamed(code)`` prints nothing at all: the data went out as it
      came (``events watch``, through line_printer);
    * ``path``: the IMDS path the data came from, which names -o env variables;
    * ``table``: the view for people, applied only to table output without
      --query (knack's table_transformer);
    * ``structured``: what the document formats (json, jsonc, yaml) show
      instead of the data, when a plain value has more to say;
    * ``terminal``: applied to the data when stdout is a terminal (a secret
      masked), before --query.
    """

    __slots__ = ("data", "exit_code", "quiet", "path", "table", "structured", "terminal")

    def __init__(self, data: Any, *, exit_code: int = 0, quiet: Any = False, path: str = "",
                 table: Optional[Callable[[Any], Any]] = None, structured: Any = None,
                 terminal: Optional[Callable[[Any], Any]] = None):
        self.data, self.exit_code, self.quiet, self.path = data, int(exit_code), quiet, path
        self.table, self.structured, self.terminal = table, structured, terminal

    @classmethod
    def streamed(cls, exit_code: int = 0) -> Result:
        """The end of a command that wrote its data as it went: only an exit code."""
        return cls(None, exit_code=exit_code, quiet=ALWAYS)

    def __repr__(self) -> str:
        return f"Result({self.data!r}, exit_code={self.exit_code}, path={self.path!r})"
