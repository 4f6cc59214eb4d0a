"""The fast path's option table (imdsctl/fastpath_options.py), generated from the click tree.

The fast path (imdsctl.fastpath) parses the command lines it answers without
click; which options it reads is its own choice (``fastpath.READS``), but how
each is spelled, whether it takes a value, which variable sets it and its
default are the CLI's, written here from the click commands, so that the two
parsers cannot drift apart (a test fails when the file is stale).
"""

from __future__ import annotations

import json
from typing import Dict, List

import click

from imdsctl._docgen.tree import NOTICE, PROG, Node
from imdsctl.fastpath import COMMANDS, READS


def _read(node: Node) -> List[click.Option]:
    return [o for o in node.command.get_params(node.ctx) if isinstance(o, click.Option) and o.name in READS]


def _spellings(options: List[click.Option], flags: bool) -> Dict[str, str]:
    return {spelling: str(o.name) for o in options if bool(o.is_flag) is flags for spelling in o.opts}


def _default(opt: click.Option) -> str:
    default = opt.get_default(click.Context(click.Command(PROG)), call=True)
    plain = default is not None and not opt.is_flag and isinstance(default, (str, int, float))
    return str(default) if plain else ""


def fastpath_table(nodes: List[Node]) -> str:
    by_path = {node.path: node for node in nodes}
    commands = {name: _read(by_path[(PROG, name)]) for name in COMMANDS}
    every = {o.name: o for options in commands.values() for o in options}
    table = {
        "SHARED": _spellings(_read(by_path[(PROG,)]), flags=False),
        "VALUED": {name: _spellings(options, flags=False) for name, options in commands.items()},
        "FLAGS": {name: _spellings(options, flags=True) for name, options in commands.items()},
        "ENVIRONMENT": {str(n): str(o.envvar) for n, o in sorted(every.items()) if isinstance(o.envvar, str)},
        "DEFAULTS": {str(n): _default(o) for n, o in sorted(every.items()) if _default(o)},
    }
    words = {
        "SHARED": "Options taking a value that may also come before the command's name: spelling -> name.",
        "VALUED": "Each command's options taking a value: spelling -> name.",
        "FLAGS": "Each command's flags: spelling -> name.",
        "ENVIRONMENT": "The variable the CLI reads each option from when it is not given.",
        "DEFAULTS": "Each option's default, as text, as the CLI has it.",
    }
    lines = ['"""The options of the commands the fast path answers, as the click commands define them.', "",
             f"{NOTICE}.", '"""', ""]
    for name, value in table.items():
        lines += [f"#: {words[name]}", f"{name} = {json.dumps(value, indent=4, sort_keys=True)}", ""]
    return "\n".join(lines[:-1]) + "\n"
