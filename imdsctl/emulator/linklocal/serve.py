"""The emulator at IMDS's own address, http://169.254.169.254 (port 80), in a
private network namespace (netns.py), for clients that cannot be pointed
elsewhere: curl one-liners, SDKs, cloud-init, the Azure agents.

Two ways in, both leaving the caller's own network untouched:

* ``run_command(imds, command)`` (``imdsctl emulate --link-local``) forks.
  The child isolates itself, checks that lo is its namespace's only
  interface, starts ``imds`` on 169.254.169.254:80 and runs COMMAND there
  with the caller's terminal; the parent waits, passing SIGINT and SIGTERM
  on, and exits with COMMAND's code.  A namespace that cannot be made or
  trusted is a NamespaceError before anything runs.
* ``LinkLocalEmulator`` (the pytest plugin's ``link_local=True``) starts a
  helper process (``python -m imdsctl.emulator.linklocal.serve``: no fork in a test
  process, which may run threads) that does the same and then answers over a
  socket pair: ``run(command)`` runs a command in the namespace and returns
  its CompletedProcess; ``requests``, ``add_fault()``... reach the emulator.

COMMAND sees no IMDSCTL_ENDPOINT or AZURE_POD_IDENTITY_AUTHORITY_HOST:
clients use 169.254.169.254, as on a VM.  Nothing else is reachable inside
(no DNS, no internet, no other host).
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
import subprocess
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from imdsctl.emulator import run
from imdsctl.emulator.api import CLIENT_VARIABLES, Emulator
from imdsctl.emulator.linklocal import netns, userns, wireserver
from imdsctl.emulator.linklocal.netns import LINK_LOCAL, NamespaceError
from imdsctl.emulator.linklocal.wireserver import FirewallError, WireServer

#: The emulator's URL inside the namespace.
URL = f"http://{LINK_LOCAL}"
PORT = 80


def environment(base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """``base`` (default os.environ) without the variables that redirect clients."""
    return {k: v for k, v in (os.environ if base is None else base).items() if k not in CLIENT_VARIABLES}


def serve_here(imds: Emulator, wireserver_root_only: bool = False,
               before_threads: Optional[Callable[[], None]] = None) -> Tuple[Emulator, WireServer]:
    """Isolate this process (a child) and start ``imds`` at 169.254.169.254:80
    and WireServer at 168.63.129.16 (:80, :32526), only once lo is checked to
    be the namespace's only interface; with ``wireserver_root_only``, behind
    waagent's firewall rule (wireserver.FirewallError when it cannot be had).
    ``before_threads`` runs once the namespace is ready, while this process
    has one thread still (userns.Gate forks there)."""
    netns.isolate()
    netns.verify()  # before the address, too: never add one outside a lo-only namespace
    netns.add_address(wireserver.ADDRESS)
    netns.verify()
    if wireserver_root_only:
        wireserver.firewall()
    if before_threads is not None:
        before_threads()
    wire = WireServer().start()
    try:
        return imds.start(), wire
    except BaseException:
        wire.stop()
        raise


# -- imdsctl emulate --link-local: fork ------------------------------------------------------


def run_command(imds: Emulator, command: Sequence[str], env: Optional[Dict[str, str]] = None,
                wireserver_root_only: bool = False) -> int:
    """Run ``command`` in a new namespace against ``imds`` (built for
    169.254.169.254:80, not started), in ``env`` (default os.environ) without
    the variables that redirect clients; its exit code (128+N if killed by
    signal N).  WireServer answers at 168.63.129.16 there too, to root only
    with ``wireserver_root_only``.  Raises NamespaceError when the namespace
    (or waagent's firewall rule in it) cannot be had."""
    reason = netns.unavailable()
    if reason is not None:
        raise NamespaceError(reason)
    ready_r, ready_w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(ready_r)
        code = 2
        try:
            code = _child(imds, command, ready_w, environment(env), wireserver_root_only)
        finally:
            netns.exit_flushed(code)
    os.close(ready_w)
    with os.fdopen(ready_r, "rb") as ready:
        word = ready.readline()
    if word != b"ok\n":
        os.waitpid(pid, 0)
        raise NamespaceError(word.decode("utf-8", "replace").strip() or "the namespace's process died")
    with run.passing_signals(lambda signum: os.kill(pid, signum)):
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else \
        (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status))
    return 128 - code if code < 0 else code


def _child(imds: Emulator, command: Sequence[str], ready: int, env: Dict[str, str],
           root_only: bool) -> int:
    """In the forked child: isolate, serve, say ``ok`` (or why not), run COMMAND."""
    netns.die_with_parent()
    try:
        gate, wire = _serve_for(imds, command, env, root_only)
    except (NamespaceError, FirewallError) as exc:
        os.write(ready, f"{exc}\n".encode())
        return 2
    except OSError as exc:
        os.write(ready, f"cannot listen on {LINK_LOCAL}:{PORT} in the namespace: "
                        f"{exc.strerror or exc}\n".encode())
        return 2
    except BaseException as exc:
        os.write(ready, f"the namespace's process failed: {type(exc).__name__}: {exc}\n".encode())
        return 2
    os.write(ready, b"ok\n")
    os.close(ready)
    try:
        if gate is None:
            return run.run(command, env)
        gate.go()
        with run.passing_signals(gate.kill):
            return gate.wait()
    finally:
        wire.stop()
        imds.stop()


def _serve_for(imds: Emulator, command: Sequence[str], env: Dict[str, str],
               root_only: bool) -> Tuple[Optional[userns.Gate], WireServer]:
    """``serve_here``, and for root the process that will run COMMAND in a
    user namespace of its own (forked before the servers' threads start)."""
    before = userns.user_namespace()
    gates: List[userns.Gate] = []

    def fork_command() -> None:
        if userns.wanted(before):
            userns.open_low_ports()
            gates.append(userns.Gate(lambda: run.run(command, env)))

    try:
        _, wire = serve_here(imds, root_only, before_threads=fork_command)
    except BaseException:
        for gate in gates:
            gate.abort()
        raise
    return (gates[0] if gates else None), wire


# -- the pytest plugin: a helper process over a socket pair ----------------------------------------

#: Emulator attributes LinkLocalEmulator reaches in the helper (methods are called).
REMOTE = ("requests", "clear_requests", "faults", "add_fault", "clear_faults", "schedule_event",
          "reset_throttle", "attested_ca_pem")


class LinkLocalEmulator:
    """An Emulator at http://169.254.169.254 in a private network namespace,
    held by a helper process; ``run()`` runs commands in that namespace.
    Keyword arguments are Emulator's (no host or port).  ``start()`` raises
    NamespaceError where namespaces are unavailable."""

    url = URL
    environment: Dict[str, str] = {}  #: nothing to set: clients use the real address

    def __init__(self, **options: Any):
        if "host" in options or "port" in options:
            raise TypeError(f"a link-local emulator listens on {LINK_LOCAL}:{PORT}: no host or port")
        self._options = options
        self._helper: Optional[subprocess.Popen] = None
        self._channel: Optional[socket.socket] = None
        self.profile: Any = None

    def start(self, timeout: float = 30.0) -> LinkLocalEmulator:
        ours, theirs = socket.socketpair()
        with theirs:
            self._helper = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno())], pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL)
        self._channel = ours
        try:
            self.profile = self._ask(("start", self._options), timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def run(self, command: Sequence[str], *, env: Optional[Dict[str, str]] = None,
            cwd: Optional[str] = None, input: Any = None, timeout: float = 60.0,
            text: bool = False) -> subprocess.CompletedProcess:
        """Run ``command`` in the namespace to completion (stdout and stderr
        captured); ``env`` defaults to os.environ without IMDSCTL_ENDPOINT and
        AZURE_POD_IDENTITY_AUTHORITY_HOST, ``cwd`` to the current directory."""
        if text and isinstance(input, str):
            input = input.encode()
        request = {"args": list(command), "env": environment(env), "cwd": cwd or os.getcwd(),
                   "input": input, "timeout": timeout}
        code, out, err = self._ask(("run", request), timeout + 10.0)
        if text:
            out, err = out.decode(errors="replace"), err.decode(errors="replace")
        return subprocess.CompletedProcess(list(command), code, out, err)

    def __getattr__(self, name: str) -> Any:
        if name not in REMOTE:
            raise AttributeError(name)
        kind = self._ask(("kind", name))
        if kind == "value":
            return self._ask(("call", name, (), {}))
        return lambda *args, **kwargs: self._ask(("call", name, args, kwargs))

    def stop(self) -> None:
        """Stop the emulator; the namespace goes with its helper process."""
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()  # the helper stops at end of file
        helper, self._helper = self._helper, None
        if helper is not None:
            try:
                helper.wait(10)
            except subprocess.TimeoutExpired:
                helper.kill()
                helper.wait()

    def __enter__(self) -> LinkLocalEmulator:
        return self if self._channel is not None else self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<LinkLocalEmulator {getattr(self.profile, 'name', '?')} {URL}>"

    def _ask(self, message: Any, timeout: float = 30.0) -> Any:
        if self._channel is None:
            raise RuntimeError("the link-local emulator is not running; call start() first")
        self._channel.settimeout(timeout)
        _send(self._channel, message)
        kind, value = _receive(self._channel)
        if kind == "raise":
            raise value
        return value


def _send(channel: socket.socket, message: Any) -> None:
    data = pickle.dumps(message)
    channel.sendall(struct.pack("!I", len(data)) + data)


def _receive(channel: socket.socket) -> Any:
    """One message from our own other end (pickle: both ends are this module)."""
    size = struct.unpack("!I", _exactly(channel, 4))[0]
    return pickle.loads(_exactly(channel, size))


def _exactly(channel: socket.socket, size: int) -> bytes:
    chunks: List[bytes] = []
    while size:
        chunk = channel.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("the link-local emulator's helper process ended")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _portable(exc: BaseException) -> BaseException:
    """``exc``, or a RuntimeError saying it, when it does not survive pickling."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _answer(imds: Emulator, message: Any) -> Any:
    """The helper's answer to one request after start."""
    if message[0] == "run":
        request = message[1]
        done = subprocess.run(request["args"], env=request["env"], cwd=request["cwd"],
                              input=request["input"], timeout=request["timeout"], capture_output=True,
                              stdin=subprocess.DEVNULL if request["input"] is None else None)
        return done.returncode, done.stdout, done.stderr
    if message[0] == "kind":
        return "method" if callable(getattr(type(imds), message[1], None)) else "value"
    _, name, args, kwargs = message
    attribute = getattr(imds, name)
    return attribute(*args, **kwargs) if callable(attribute) else attribute


def main(argv: Sequence[str]) -> int:
    """The helper: build the emulator, isolate, serve, answer until end of file."""
    netns.die_with_parent()
    channel = socket.socket(fileno=int(argv[1]))
    _, options = _receive(channel)
    try:
        root_only = bool(options.pop("wireserver_root_only", False))
        imds, wire = serve_here(Emulator(host=LINK_LOCAL, port=PORT, **options), root_only)
    except BaseException as exc:
        _send(channel, ("raise", _portable(exc)))
        return 2
    _send(channel, ("ok", imds.profile))
    try:
        while True:
            try:
                message = _receive(channel)
            except (EOFError, OSError):
                return 0
            try:
                reply = ("ok", _answer(imds, message))
            except Exception as exc:
                reply = ("raise", _portable(exc))
            _send(channel, reply)
    finally:
        wire.stop()
        imds.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
