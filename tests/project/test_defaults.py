"""Every default lives in one place (issue #16, point 2): the request defaults in
imdsctl/catalog.py, the hook's in imdsctl/events/hook.py; the fast path reads
the CLI's own option table (generated, checked for staleness by test_docgen)."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import click
import pytest

from imdsctl import catalog, fastpath, fastpath_options
from imdsctl.cli import cli
from imdsctl.events import hook
from imdsctl.imds import client
from imdsctl.session import Settings

PACKAGE = Path(__file__).resolve().parents[2] / "imdsctl"
#: A default and the one module allowed to write it as a number.
HOMES = {30.0: "catalog.py", 2.0: "catalog.py", 300.0: "events/hook.py"}
#: The same number meaning something else.
#: facts: an `ip route` lookup; metrics: histogram buckets; kube: kubectl calls, uncordon retries.
OTHERS = {"COMMAND_TIMEOUT", "HOOK_BUCKETS", "CALL_TIMEOUT", "RETRY_UNCORDON"}


def _literals(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    other = {id(n) for a in ast.walk(tree) if isinstance(a, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id in OTHERS for t in a.targets)
             for n in ast.walk(a.value)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) is float and node.value in HOMES \
                and id(node) not in other:
            yield node.value, node.lineno


def test_each_default_is_written_in_its_home_alone():
    found = [f"{p.relative_to(PACKAGE)}:{line}: {value}" for p in sorted(PACKAGE.rglob("*.py"))
             if "emulator" not in p.parts for value, line in _literals(p)
             if p.relative_to(PACKAGE).as_posix() != HOMES[value]]
    assert found == []


def test_the_defaults_agree_everywhere():
    assert Settings().timeout == client.DEFAULT_TIMEOUT == catalog.DEFAULT_TIMEOUT
    assert client.DEFAULT_CONNECT_TIMEOUT == catalog.CONNECT_TIMEOUT
    assert float(fastpath_options.DEFAULTS["timeout"]) == catalog.DEFAULT_TIMEOUT
    ctx = click.Context(cli)
    for name in ("get", "compute", "network"):
        timeout = next(p for p in cli.get_command(ctx, name).params if p.name == "timeout")
        assert timeout.default == catalog.DEFAULT_TIMEOUT
    watch = cli.get_command(ctx, "events").get_command(ctx, "watch")
    assert next(p for p in watch.params if p.name == "hook_timeout").default == hook.HOOK_TIMEOUT


def test_the_quick_path_has_no_option_table_of_its_own():
    source = (PACKAGE / "fastpath.py").read_text(encoding="utf-8")
    assert re.findall(r"[\"']--?[a-z]", source) == []


def test_every_spelling_the_cli_takes_is_the_fast_paths(imds_emulator, capsys):
    """compute's --all is spelled --all but named everything: read from the table, it is answered."""
    assert fastpath.answer(["compute", "--all", "-o", "json"], os.environ) == 0
    assert '"vmId"' in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--debug", "--decode", "-h"])
def test_an_option_the_fast_path_does_not_read_goes_to_the_cli(option):
    assert fastpath.answer(["compute", "vm-id", option], os.environ) is None

