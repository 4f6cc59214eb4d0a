"""--help for people at 80 columns: no line wider, no word broken, and a
command's own options and examples before the shared options."""

from __future__ import annotations

import click
import pytest

from imdsctl.cli import cli
from tests.lib.helpers import ok


def _paths(group=cli, ctx=None, prefix=()):
    ctx = ctx or click.Context(group, info_name="imdsctl")
    yield prefix
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _paths(command, click.Context(command, info_name=name, parent=ctx), (*prefix, name))
        else:
            yield (*prefix, name)


PATHS = list(_paths())


def help_at(run, path, columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(columns))
    return ok(run(*path, "--help")).stdout


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "imdsctl")
def test_help_fits_80_columns_without_a_broken_word(run, path, monkeypatch):
    narrow, wide = help_at(run, path, 80, monkeypatch), help_at(run, path, 300, monkeypatch)
    assert max(len(line) for line in narrow.splitlines()) <= 80, narrow
    assert [w for w in narrow.split() if w != "\\"] == [w for w in wide.split() if w != "\\"]


def test_own_options_and_examples_come_before_the_shared_ones(run, monkeypatch):
    text = help_at(run, ("get",), 80, monkeypatch)
    assert text.index("Options:") < text.index("--allow-missing") < text.index("Examples:") \
        < text.index("Shared options:") < text.index("--endpoint")


def test_a_long_example_is_continued_between_shell_words_never_in_a_quote():
    import shlex

    from imdsctl.cli.helptext import example_lines

    line = ("imdsctl get compute/storageProfile/dataDisks -q \"[?lun == `0`].managedDisk.id | [0]\" "
            "-o tsv --timeout 5 --endpoint http://127.0.0.1:8080")
    lines = example_lines(line, 4)
    assert len(lines) > 1 and all(4 + len(piece) <= 78 for piece in lines)
    assert shlex.split("\n".join(lines).replace("\\\n", "")) == shlex.split(line)  # as sh reads it
    assert "[?lun == `0`].managedDisk.id | [0]" in "\n".join(lines)
