"""completion: the shell completion scripts, as installed."""

from __future__ import annotations

import click

from imdsctl.cli.options import command
from imdsctl.result import Result
from imdsctl.ui.render import render

SHELLS = ("bash", "zsh", "fish")


@command(examples=(
    ("bash, for this shell:", "source <(imdsctl completion bash)"),
    ("zsh, for good (a directory of $fpath):", 'imdsctl completion zsh > "${fpath[1]}/_imdsctl"'),
    ("fish, for good:", "imdsctl completion fish > ~/.config/fish/completions/imdsctl.fish")))
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> int:
    """Print the completion script for SHELL: bash, zsh or fish.

    The script is static (generated from this command tree, as the ones in
    the source's completions/ directory): TAB never starts Python. It
    completes commands, options, fields with their descriptions, emulator
    profiles, IMDS paths after 'get' and commands after 'emulate --'.
    """
    from imdsctl import _docgen

    scripts = {"bash": _docgen.bash_script, "zsh": _docgen.zsh_script, "fish": _docgen.fish_script}
    return render(Result(scripts[shell](_docgen.walk(_docgen.cli))), "text")
