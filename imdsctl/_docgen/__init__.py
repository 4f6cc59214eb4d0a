"""Generate the checked-in docs from the click tree: shell completions, the man
page, the generated sections of the reference page, docs/reference.md, and the
fast path's option table, imdsctl/fastpath_options.py.

    python -m imdsctl._docgen --write    regenerate the stale files in place (make docs)
    python -m imdsctl._docgen --check    list the stale files and exit 1 if there are any

The completion scripts are static: the command tree, the options and the values
each parameter's own ``shell_complete`` offers are written into them, so TAB
never starts Python.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import click

from imdsctl import catalog
from imdsctl._docgen.fastpath import fastpath_table
from imdsctl._docgen.man import EXAMPLES, man_page, roff
from imdsctl._docgen.shells import _zsh_function, bash_script, fish_script, zsh_script
from imdsctl._docgen.tree import PROG, DocgenError, Node, option_names, takes_value, walk
from imdsctl.cli import cli
from imdsctl.errors import EXIT_CODES
from imdsctl.session import VARIABLES
from imdsctl.ui import render

__all__ = ["EXAMPLES", "REFERENCE", "DocgenError", "Node", "ROOT", "_zsh_function", "bash_script", "generate",
           "main", "option_names", "reference_sections", "roff", "stale", "takes_value", "update_readme",
           "walk"]

ROOT = Path(__file__).resolve().parent.parent.parent

#: The page whose tables are generated, relative to the repository.
REFERENCE = "docs/reference.md"
#: The sections the README repeats from the reference (the front door shows the exit codes).
README_SECTIONS = ("exit-codes",)


# -- the reference page's sections ---------------------------------------------------


def _table(header: Tuple[str, ...], rows: List[Tuple[str, ...]]) -> str:
    lines = [header, tuple("---" for _ in header), *rows]
    return "".join("| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |\n" for line in lines)


def _markdown(text: str) -> str:
    """A help text for a Markdown table cell: ``x`` (click help's literal) as `x`."""
    return re.sub(r"``(.+?)``", r"`\1`", text)


def _commands(nodes: List[Node]) -> List[Tuple[str, ...]]:
    """One row per command that runs: its synopsis (options left out) and short help."""
    rows: List[Tuple[str, ...]] = []
    for node in nodes:
        group = isinstance(node.command, click.Group)
        if isinstance(node.command, click.Group) and not node.command.invoke_without_command:
            continue
        pieces = [p for p in node.command.collect_usage_pieces(node.ctx) if p != "[OPTIONS]"]
        if group:
            pieces = [p for p in pieces if not p.startswith("[verify") and "COMMAND" not in p]
        rows.append((f"`{' '.join([node.name, *pieces])}`", node.command.get_short_help_str(limit=200)))
    return rows


def reference_sections(nodes: Optional[List[Node]] = None) -> Dict[str, str]:
    """The reference page's generated sections, by marker name."""
    nodes = nodes if nodes is not None else walk(cli)
    fields: List[Tuple[str, ...]] = [(f"`{PROG} {group} {f.name}`", f"`{f.path}`", f.since or "unknown",
               f.help + "".join(f" Also `{a}`." for a in f.aliases)) for group, f in catalog.all_fields()]
    return {
        "fields": _table(("Command", "IMDS path", "Since api-version", "Description"), fields),
        "exit-codes": _table(("Code", "Meaning"), [(str(int(c)), m) for c, m in EXIT_CODES]),
        "env": _table(("Variable", "Meaning"), [(f"`{n}`", t) for n, t in VARIABLES]),
        "commands": _table(("Command", "What it does"), _commands(nodes)),
        "output": _table(("Format", "What it prints"),
                         [(f"`{name}`", _markdown(text)) for name, text in render.FORMAT_HELP.items()]),
    }


#: The former name, when the sections were the README's.
readme_sections = reference_sections


def update_readme(text: str, sections: Dict[str, str]) -> str:
    """Replace what is between each pair of markers; append a missing pair at the end."""
    for name, body in sections.items():
        begin, end = f"<!-- BEGIN generated:{name} -->", f"<!-- END generated:{name} -->"
        block = f"{begin}\n{body}{end}"
        match = re.search(re.escape(begin) + ".*?" + re.escape(end), text, re.S)
        if match:
            text = text[:match.start()] + block + text[match.end():]
        else:
            text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"
    return text


# -- the command -------------------------------------------------------------------


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def generate() -> Dict[str, str]:
    """Every generated file, by path relative to the repository, with its expected text."""
    nodes = walk(cli)
    sections = reference_sections(nodes)
    return {
        "completions/imdsctl.bash": bash_script(nodes),
        "completions/_imdsctl": zsh_script(nodes),
        "completions/imdsctl.fish": fish_script(nodes),
        "man/imdsctl.1": man_page(nodes),
        "imdsctl/cli/imdsctl.1": man_page(nodes),  # the same page as package data (imdsctl man)
        "imdsctl/fastpath_options.py": fastpath_table(nodes),
        REFERENCE: update_readme(_read(ROOT / REFERENCE), sections),
        "README.md": update_readme(_read(ROOT / "README.md"), {n: sections[n] for n in README_SECTIONS}),
    }


def stale(expected: Dict[str, str]) -> List[str]:
    """The paths whose checked-in text differs from ``expected``."""
    return [name for name, text in expected.items() if _read(ROOT / name) != text]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imdsctl._docgen", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the stale files in place")
    mode.add_argument("--check", action="store_true", help="list the stale files; exit 1 if any")
    args = parser.parse_args(argv)
    if not (ROOT / "setup.cfg").exists():
        parser.error(f"{ROOT} is not a source checkout: run it from one (pip install -e .)")
    try:
        expected = generate()
    except DocgenError as err:
        print(f"docgen: {err}", file=sys.stderr)
        return 1
    names = stale(expected)
    for name in names:
        if args.write:
            (ROOT / name).parent.mkdir(parents=True, exist_ok=True)
            with open(ROOT / name, "w", encoding="utf-8", newline="\n") as f:
                f.write(expected[name])
            print(f"wrote {name}")
        else:
            print(f"stale: {name} (run 'make docs')", file=sys.stderr)
    return 1 if names and args.check else 0



