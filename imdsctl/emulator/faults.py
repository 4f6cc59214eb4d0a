"""Fault injection: make the next N requests misbehave.

A fault is written as a short spec (SYNTAX below), on the command line
(``--fault``), posted to the control channel or passed to the Python API.
Faults are consumed in the order they were added: a request takes one use of
the first fault whose prefix matches its path.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from imdsctl.emulator.messages import HTML_TYPE, Response, error, status_message

MAX_DELAY = 600.0


@dataclass(frozen=True)
class FaultKind:
    """One kind of fault: how a spec names it, what it does, which value it
    takes (``status``, ``seconds`` or none) and its effect on an answer."""

    name: str
    usage: str          #: the ACTION as a spec writes it
    help: str           #: what it does, for SYNTAX (lines)
    takes: Optional[str]
    effect: Callable[[Fault, Callable[[], Response]], Response]


#: What a captive portal or a hotel proxy answers instead of IMDS.
CAPTIVE_PORTAL = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head>\n"
    b"<body><h1>Sign in to the network</h1>"
    b"<p>Accept the terms of use to continue to the Internet.</p></body></html>\n"
)

#: Every kind of fault: the one table the spec grammar, its help and the validation read.
KINDS: Dict[str, FaultKind] = {kind.name: kind for kind in (
    FaultKind("status", "400-599", "answer this status, with a JSON error body", "status",
         lambda f, respond: error(f.status, status_message(f.status))),
    FaultKind("delay", "delay=SECONDS", f"answer normally, SECONDS later (at most {MAX_DELAY:g})", "seconds",
         lambda f, respond: replace(respond(), delay=f.seconds)),
    FaultKind("html", "html", "answer a 200 text/html captive-portal page", None,
         lambda f, respond: Response(200, CAPTIVE_PORTAL, HTML_TYPE, server="captive-portal")),
    FaultKind("truncate", "truncate", "send half the answer under its full Content-Length,\n"
                                 "then close the connection", None,
         lambda f, respond: replace(respond(), truncate=True)),
    FaultKind("reset", "reset", "reset the connection (RST) instead of answering", None,
         lambda f, respond: Response(0, reset=True)),
)}
_TIMED = [kind for kind in KINDS.values() if kind.takes == "seconds"]


def _syntax() -> str:
    actions = []
    for kind in KINDS.values():
        first, *rest = kind.help.splitlines()
        actions.append(f"{kind.usage:<15}{first}")
        actions += [" " * 15 + line for line in rest]
    return "\n".join([
        "SPEC = ACTION[*COUNT][@PREFIX]",
        "  ACTION  " + actions[0], *("          " + line for line in actions[1:]),
        "  COUNT   how many requests: a positive integer (default 1) or inf",
        "  PREFIX  only requests under this path, e.g. /metadata/instance",
        "Examples: 410*3@/metadata/instance  delay=2.5  html  truncate  reset*2  500*inf"])


#: The spec grammar, as `imdsctl emulator serve --help` shows it.
SYNTAX = _syntax()

_SPEC = re.compile(r"(?P<action>[a-z]+|[0-9]+)(?:=(?P<arg>[^*@]*))?"
                   r"(?:\*(?P<count>[^@]*))?(?:@(?P<prefix>.*))?")

class FaultSpecError(ValueError):
    """A fault spec or fault JSON that does not parse."""


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour for the next ``count`` requests under ``prefix``
    (``count`` None: every request until cleared)."""

    kind: str
    status: int = 0           #: for kind "status": 400-599
    seconds: float = 0.0      #: for kind "delay"
    count: Optional[int] = 1
    prefix: str = "/"

    def __post_init__(self) -> None:
        kind = KINDS.get(self.kind)
        if kind is None:
            raise FaultSpecError(f"unknown fault kind '{self.kind}' (expected a 4xx/5xx status, "
                                 f"{', '.join(k for k in KINDS if k != 'status')})")
        if kind.takes == "status" and not 400 <= self.status <= 599:
            raise FaultSpecError(f"fault status {self.status} is not a 4xx or 5xx status")
        if kind.takes != "status" and self.status:
            raise FaultSpecError(f"a {self.kind} fault has no status")
        if kind.takes == "seconds" and not 0 < self.seconds <= MAX_DELAY:
            raise FaultSpecError(f"a fault {self.kind} is between 0 and {MAX_DELAY:g} seconds")
        if kind.takes != "seconds" and self.seconds:
            raise FaultSpecError(f"a {self.kind} fault has no delay")
        if self.count is not None and self.count < 1:
            raise FaultSpecError("fault count must be a positive integer or 'inf'")
        if not self.prefix.startswith("/"):
            raise FaultSpecError(f"fault prefix '{self.prefix}' must start with '/'")
        if self.prefix != "/" and self.prefix.endswith("/"):
            object.__setattr__(self, "prefix", self.prefix.rstrip("/") or "/")

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse a spec such as ``410*3@/metadata/instance``."""
        match = _SPEC.fullmatch(spec.strip())
        if not match:
            raise FaultSpecError(f"bad fault spec '{spec}' (expected ACTION[*COUNT][@PREFIX], e.g. 410*3)")
        action, arg, count, prefix = match.group("action", "arg", "count", "prefix")
        fields: Dict[str, Any] = {"prefix": prefix if prefix is not None else "/"}
        if action.isdigit():
            fields.update(kind="status", status=int(action))
        else:
            fields["kind"] = action
        kind = KINDS.get(fields.get("kind", ""))
        if kind is not None and kind.takes == "seconds" and arg is None:
            raise FaultSpecError(f"bad fault spec '{spec}': {kind.name} needs seconds ({kind.usage})")
        if (kind is None or kind.takes != "seconds") and arg is not None:
            takes = " or ".join(k.name for k in _TIMED) + (" takes" if len(_TIMED) == 1 else " take")
            raise FaultSpecError(f"bad fault spec '{spec}': only {takes} a value "
                                 f"({', '.join(k.usage for k in _TIMED)})")
        if arg is not None:
            try:
                fields["seconds"] = float(arg)
            except ValueError:
                raise FaultSpecError(f"bad fault spec '{spec}': '{arg}' is not a number of seconds") from None
        if count is not None:
            if count != "inf" and not count.isdigit():
                raise FaultSpecError(f"bad fault spec '{spec}': count must be a positive integer or 'inf'")
            fields["count"] = None if count == "inf" else int(count)
        return cls(**fields)

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """A fault from JSON: a spec string, ``{"spec": "..."}``, or the fields
        ``{"kind", "status", "seconds", "count", "prefix"}`` (``kind`` may be
        left out when ``status`` is given)."""
        if isinstance(data, str):
            return cls.parse(data)
        if not isinstance(data, dict):
            raise FaultSpecError("a fault is a spec string or a JSON object")
        if set(data) == {"spec"} and isinstance(data["spec"], str):
            return cls.parse(data["spec"])
        unknown = sorted(set(data) - {"kind", "status", "seconds", "count", "prefix"})
        if unknown:
            raise FaultSpecError(f"unknown fault field '{unknown[0]}'")
        fields = dict(data)
        if "kind" not in fields:
            if "status" not in fields:
                raise FaultSpecError("a fault needs a kind or a status")
            fields["kind"] = "status"
        types: Dict[str, Union[type, Tuple[type, ...]]] = {
            "kind": str, "status": int, "seconds": (int, float), "count": (int, type(None)), "prefix": str}
        for name, value in fields.items():
            if isinstance(value, bool) or not isinstance(value, types[name]):
                raise FaultSpecError(f"fault field '{name}' has the wrong type")
        return cls(**fields)

    @property
    def action(self) -> str:
        """The ACTION part of the spec: ``410``, ``delay=2.5``, ``reset``..."""
        takes = KINDS[self.kind].takes
        if takes == "status":
            return str(self.status)
        return f"{self.kind}={self.seconds:g}" if takes == "seconds" else self.kind

    @property
    def spec(self) -> str:
        """The canonical spec; ``Fault.parse(f.spec) == f``."""
        count = "" if self.count == 1 else "*inf" if self.count is None else f"*{self.count}"
        prefix = "" if self.prefix == "/" else f"@{self.prefix}"
        return self.action + count + prefix

    def to_json(self) -> Dict[str, Any]:
        return {"spec": self.spec, **asdict(self)}

    def matches(self, path: str) -> bool:
        """Whether ``path`` lies under this fault's prefix (whole segments)."""
        return self.prefix == "/" or path == self.prefix or path.startswith(self.prefix + "/")


class FaultPlan:
    """The armed faults, consumed in order; thread-safe."""

    def __init__(self, faults: Iterable[Fault] = ()):
        self._lock = threading.Lock()
        self._faults: List[Fault] = list(faults)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> List[Fault]:
        """The armed faults, each with its remaining count."""
        with self._lock:
            return list(self._faults)

    def take(self, path: str) -> Optional[Fault]:
        """Use up one application of the first fault matching ``path``."""
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.matches(path):
                    if fault.count == 1:
                        del self._faults[i]
                    elif fault.count is not None:
                        self._faults[i] = replace(fault, count=fault.count - 1)
                    return fault
        return None


def apply(fault: Optional[Fault], respond: Callable[[], Response]) -> Response:
    """The answer to a request under ``fault``: a replacement for the normal
    answer (status, html, reset) or the normal answer ``respond()`` altered
    in transit (delay, truncate)."""
    if fault is None:
        return respond()
    return replace(KINDS[fault.kind].effect(fault, respond), fault=fault.action)
