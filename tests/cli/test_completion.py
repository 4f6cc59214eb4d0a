"""The completion scripts in the real shells, as a person pressing TAB sees them:
bash (its functions called as readline would), zsh (an interactive shell on a
pseudo-terminal), fish (complete -C). Each skips where its shell is missing."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lib.helpers import DOCS_CLICK, ok

#: What this checks is the same on every Python: the oldest-Python pass leaves it out.
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
COMPLETIONS = ROOT / "completions"
BIN = str(Path(sys.executable).parent)  # where this installation's imdsctl lives
PATH = f"{BIN}:/usr/bin:/bin"


@pytest.mark.parametrize("shell, script", [("bash", "imdsctl.bash"), ("zsh", "_imdsctl"),
                                           ("fish", "imdsctl.fish")])
def test_the_completion_command_prints_the_checked_in_script(run, shell, script):
    if not DOCS_CLICK:
        pytest.skip("the scripts are generated with click >= 8.2 (help texts differ in 8.1)")
    assert ok(run("completion", shell)).stdout == (COMPLETIONS / script).read_text()


# -- bash: tests/test_docgen.py presses TAB in bash ------------------------------------------


# -- fish -------------------------------------------------------------------------------------


def test_fish_completes_with_descriptions():
    if not shutil.which("fish"):
        pytest.skip("fish is not installed")
    lines = ["imdsctl compute vm", "imdsctl get compute/storageProfile/os", "imdsctl emulate --profile ",
             "imdsctl emulate -- imdsct", "imdsctl emulate -- imdsctl network "]
    script = f"source {COMPLETIONS / 'imdsctl.fish'}; " + "; echo ---; ".join(
        f"complete -C {line!r}" for line in lines)
    result = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True,
                            timeout=30, env={"PATH": PATH, "HOME": "/nonexistent"})
    blocks = [dict(line.split("\t", 1) if "\t" in line else (line, "") for line in block.strip().splitlines())
              for block in result.stdout.split("---")]
    assert blocks[0]["vm-id"] == "Unique id of the VM.", result.stderr
    assert "compute/storageProfile/osDisk" in blocks[1]
    assert set(blocks[2]) == {"linux-2017", "linux-2025", "spot-vmss", "windows-sql-2017"}
    assert "imdsctl" in blocks[3]
    assert blocks[4]["private-ip"].startswith("Private IPv4 address")


# -- zsh --------------------------------------------------------------------------------------


class Zsh:
    """An interactive zsh on a pseudo-terminal, with the completion installed."""

    def __init__(self, tmp: Path):
        (tmp / "_imdsctl").write_text((COMPLETIONS / "_imdsctl").read_text())
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: an interactive zsh without the user's files
            os.execve(shutil.which("zsh"), ["zsh", "-f", "-i"],
                      {"PATH": PATH, "HOME": str(tmp), "TERM": "dumb", "PS1": "> "})
        self.send(f"fpath=({tmp} $fpath); autoload -Uz compinit; compinit -u; "
                  "zstyle ':completion:*' list-separator '--'; echo RE\"\"ADY\n")
        self.read(b"READY\r\n")

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def read(self, until: bytes = b"", seconds: float = 10.0, idle: float = 0.0) -> str:
        """What zsh writes until ``until`` appears, or (``idle``) it has been quiet that long."""
        out, end = b"", time.monotonic() + seconds
        while time.monotonic() < end and not (until and until in out):
            if select.select([self.fd], [], [], idle or 0.1)[0]:
                try:
                    out += os.read(self.fd, 65536)
                except OSError:
                    break
            elif idle and out:
                break
        return out.decode(errors="replace")

    def complete(self, line: str) -> str:
        """What TAB at the end of ``line`` shows (a list, or the line completed)."""
        self.send(line + "\t")
        shown = self.read(idle=0.3)
        self.send("\x15")  # ^U: the next line starts empty
        self.read(idle=0.1)
        return shown

    def close(self) -> None:
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)


def test_zsh_completes_with_descriptions(tmp_path):
    if not shutil.which("zsh"):
        pytest.skip("zsh is not installed")
    zsh = Zsh(tmp_path)
    try:
        fields = zsh.complete("imdsctl compute vm")
        profiles = zsh.complete("imdsctl emulate --profile ")
        nested = zsh.complete("imdsctl emulate --fault 410 -- imdsctl compute vm")
        path = zsh.complete("imdsctl get compute/storageProfile/os")
    finally:
        zsh.close()
    assert "vm-id" in fields and "Unique id of the VM." in fields
    assert "spot-vmss" in profiles and "Spot VM" in profiles
    assert "Unique id of the VM." in nested
    assert "compute/storageProfile/osDisk" in path


def test_the_man_page_is_installed_with_the_package():
    """setup.cfg installs man/imdsctl.1 into share/man/man1, where man finds it beside
    the bin directory on PATH (a venv, /usr/local) and pipx links it."""
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["options.data_files"]["share/man/man1"].split() == ["man/imdsctl.1"]
    assert (ROOT / "man" / "imdsctl.1").is_file()
