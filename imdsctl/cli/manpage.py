"""man: the man page, from every install path (a wheel, pipx, uv, the pyz).

The page is package data (``imdsctl/cli/imdsctl.1``, the same bytes as the source's
man/imdsctl.1: ``make docs`` writes both), so that it is there wherever imdsctl runs,
an old pipx that links no share/man and a zipapp included.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Optional

import click

from imdsctl.cli.options import command
from imdsctl.errors import OutputError, UsageError
from imdsctl.files import write_readable
from imdsctl.result import Result
from imdsctl.ui.render import render

#: Where ``--install`` writes without a DIR: the per-user man directory man-db searches
#: (manpath derives it from ~/.local/bin on PATH; MANPATH can name it too).
DEFAULT_DIR = "~/.local/share/man"
PAGE = "imdsctl.1"


def page() -> bytes:
    """The man page, as bundled with this imdsctl (a file, or a member of the pyz)."""
    return resources.files("imdsctl.cli").joinpath(PAGE).read_bytes()


def install(top: Path, data: bytes) -> Path:
    """Write ``top/man1/imdsctl.1`` whole (files.write_readable: a temp file renamed over it), 0644."""
    target = top / "man1" / PAGE
    target.parent.mkdir(parents=True, exist_ok=True)
    write_readable(str(target), data)
    return target


@command(examples=(
    ("Read it:", "imdsctl man | man -l -"),
    ("Install it for this user (then: man imdsctl):", "imdsctl man --install"),
    ("Install it for everyone:", "sudo imdsctl man --install /usr/local/share/man")))
@click.option("--install", "to_install", is_flag=True,
              help=f"Write DIR/man1/imdsctl.1 (DIR defaults to {DEFAULT_DIR}) and print its path.")
@click.argument("directory", metavar="[DIR]", required=False, type=click.Path(file_okay=False))
def man(to_install: bool, directory: Optional[str]) -> int:
    """Print the man page (roff), or install it where man finds it.

    The page comes with imdsctl itself, so this works from a wheel, pipx,
    uv or the single-file pyz alike.
    """
    if directory is not None and not to_install:
        raise UsageError(f"{directory}: a directory is for --install (imdsctl man --install DIR)")
    data = page()
    if not to_install:
        return render(Result(data.decode("utf-8").rstrip("\n")), "text")
    top = Path(os.path.expanduser(directory or DEFAULT_DIR))
    try:
        target = install(top, data)
    except OSError as error:
        raise OutputError(f"cannot write {top / 'man1' / PAGE}: {error.strerror or error}") from error
    return render(Result(str(target)), "text")
