"""`imdsctl events unit`: a systemd service running `events watch` with this
installation's imdsctl (https://www.freedesktop.org/software/systemd/man/systemd.service.html).

The unit restarts the watch when it fails (Restart=on-failure; SIGTERM ends
it with 0, which is not a failure), sends SIGTERM to the watch alone so that
a running hook finishes (KillMode=mixed) and gives it the hook's timeout and
30 s more to do so (TimeoutStopSec), keeps the state in /var/lib/imdsctl
(StateDirectory, 0700: it survives reboots, so a hook that ran before a
Reboot event does not run again after it), and reads secrets, such as a
webhook URL, from an environment file only root can read.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from typing import Any, List, Optional, Sequence, Tuple

from imdsctl import __version__
from imdsctl.errors import UsageError
from imdsctl.events.hook import HOOK_TIMEOUT

STATE_DIRECTORY = "/var/lib/imdsctl"
STATE = f"{STATE_DIRECTORY}/events-state.json"
ENVIRONMENT_FILE = "/etc/imdsctl/events.env"
NAME = "imdsctl-events.service"
STOP_MARGIN = 30

_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
              "\v": "\\v"}
_PLAIN = re.compile(r"[\w@+=:,./-]+\Z", re.ASCII)


def executable() -> List[str]:
    """How a service starts this installation's imdsctl: the absolute path of
    the running imdsctl script; else the one beside this Python; else this
    Python with ``-m imdsctl``."""
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0).startswith("imdsctl") and os.path.isfile(argv0) and os.access(argv0, os.X_OK):
        return [os.path.abspath(argv0)]
    beside = shutil.which("imdsctl", path=os.path.dirname(sys.executable))
    if beside:
        return [os.path.abspath(beside)]
    return [os.path.abspath(sys.executable), "-m", "imdsctl"]


def quote(word: str, first: bool = False) -> str:
    """One word of an ExecStart= line, read back by systemd as ``word``
    (systemd.syntax(7), systemd.service(5)): specifiers (%) escaped, and
    variables ($) but in the ``first`` word (the executable, where systemd
    substitutes none); quoted when it is not plain, with \\, \", C escapes
    for the controls, \\u/\\U for every other non-printable character, \\xNN for a byte
    that is not UTF-8 (a path's, as Python's surrogateescape holds it)."""
    escaped = word.replace("%", "%%") if first else word.replace("%", "%%").replace("$", "$$")
    if _PLAIN.match(word):
        return escaped
    return '"' + "".join(_escape(c) for c in escaped) + '"'


def _escape(char: str) -> str:
    if char in '\\"':
        return "\\" + char
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x80:
        return _C_ESCAPES.get(char, f"\\x{code:02x}")
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a path that is not UTF-8 (surrogateescape): that byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def arguments(options: Sequence[Tuple[str, Any]]) -> List[str]:
    """``events watch`` and its options: (flag, value) pairs; True is a bare
    flag, None or False leaves the option out."""
    words = ["events", "watch", "-o", "json"]
    for flag, value in options:
        if value is True:
            words.append(flag)
        elif value is not None and value is not False:
            words += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return words


def absolute_hook(hook: str, cwd: str) -> Tuple[str, Optional[str]]:
    """``hook`` with a relative path as its first word made absolute against
    ``cwd`` (a service runs from /), and that word as it was (None: unchanged).
    A word without a slash is looked up in PATH and is left as it is."""
    try:
        words = shlex.split(hook)
    except ValueError:
        return hook, None
    first = words[0] if words else ""
    if "/" not in first or os.path.isabs(first):
        return hook, None
    start = hook.index(first[0])  # the first word starts the command (after blanks); replace its spelling
    spelled = hook[start:].split(None, 1)
    if shlex.split(spelled[0]) != [first]:
        return hook, None  # quoted in some way a plain replacement would break
    rest = hook[start + len(spelled[0]):]
    return shlex.quote(os.path.normpath(os.path.join(cwd, first))) + rest, first


def unit(*, state: str = STATE, interval: float = 1.0, hook: Optional[str] = None,
         hook_timeout: float = HOOK_TIMEOUT, approve: bool = False, all_resources: bool = False,
         notify: Optional[str] = None, notify_format: str = "json",
         command: Optional[List[str]] = None) -> str:
    """The unit file's text for a watch with these options (those of `events
    watch`; defaults left out), started by ``command`` (default: executable())."""
    options = [("--state", state), ("--interval", None if interval == 1.0 else interval), ("--exec", hook),
               ("--hook-timeout", None if hook_timeout == HOOK_TIMEOUT else hook_timeout), ("--ack", approve),
               ("--all-resources", all_resources), ("--notify", notify),
               ("--notify-format", None if notify_format == "json" else notify_format)]
    argv = (command or executable()) + arguments(options)
    if any(c in "\\\"'" or ord(c) < 32 or ord(c) == 127 for c in argv[0]):
        raise UsageError(f"systemd cannot start {argv[0]!r}: it refuses quotes, backslashes and "
                         "control characters in the name of an executable",
                         "install imdsctl under a plainer path, or run it as python -m imdsctl")
    return f"""\
# imdsctl events watch as a service: written by `imdsctl events unit` (imdsctl {__version__}).
# Install it (as root):
#   imdsctl events unit [OPTIONS] > /etc/systemd/system/{NAME}
#   systemctl daemon-reload
#   systemctl enable --now {NAME}
# Its log: journalctl -u {NAME} (one JSON line per change on stdout, notes on stderr).
# A secret webhook URL belongs in {ENVIRONMENT_FILE} (mode 0600): IMDSCTL_NOTIFY_URL=https://...

[Unit]
Description=Azure Scheduled Events handler (imdsctl events watch)
Documentation=https://learn.microsoft.com/azure/virtual-machines/linux/scheduled-events
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart={" ".join(quote(word, first=i == 0) for i, word in enumerate(argv))}
EnvironmentFile=-{ENVIRONMENT_FILE}
Restart=on-failure
RestartSec=5
KillMode=mixed
TimeoutStopSec={int(hook_timeout) + STOP_MARGIN}
StateDirectory=imdsctl
StateDirectoryMode=0700

[Install]
WantedBy=multi-user.target
"""
