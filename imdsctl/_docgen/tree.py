"""The click tree as the generators see it: commands, options, their values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

import click

PROG = "imdsctl"
NOTICE = "generated from the click tree by `python -m imdsctl._docgen --write` (make docs); do not edit"
_WORD = re.compile(r"[\w.:@%+,/=-]+")  # a candidate every shell takes unquoted


class DocgenError(Exception):
    """The tree cannot be documented, e.g. a lazy command failed to import."""


# -- the tree --------------------------------------------------------------------


@dataclass(frozen=True)
class Values:
    """What a value completes to: ``words`` (each with its description in
    ``helps``, "" for none), or paths when ``kind`` is 'file' or 'dir', or
    commands and their arguments when ``kind`` is 'command'."""

    kind: str = "words"
    words: Tuple[str, ...] = ()
    helps: Tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.kind != "words" or bool(self.words)

    def described(self) -> bool:
        return any(self.helps)


@dataclass(frozen=True)
class Node:
    """One command of the tree and the context it is documented in."""

    path: Tuple[str, ...]                            # ("imdsctl", "emulator", "serve")
    command: click.Command
    ctx: click.Context
    children: Tuple[Tuple[str, click.Command], ...]  # visible subcommands of a group

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def options(self) -> List[click.Option]:
        return [p for p in self.command.get_params(self.ctx) if isinstance(p, click.Option) and not p.hidden]

    def arguments(self) -> List[click.Argument]:
        return [p for p in self.command.get_params(self.ctx) if isinstance(p, click.Argument)]

    def values(self, param: click.Parameter) -> Values:
        """What ``param.shell_complete`` offers for an empty word."""
        items = param.shell_complete(self.ctx, "")
        for kind in ("file", "dir", "command"):
            if any(item.type == kind for item in items):
                return Values(kind)
        described = dict.fromkeys((str(item.value) for item in items), "")
        for item in items:
            described[str(item.value)] = described[str(item.value)] or collapse(item.help)
        bad = [w for w in described if not _WORD.fullmatch(w)]
        if bad:
            raise DocgenError(f"{self.name} {param.name}: cannot write {bad!r} into a completion script")
        return Values("words", tuple(described), tuple(described.values()))

    def argument_values(self) -> Values:
        """What the positional arguments complete to, all positions together."""
        found = [self.values(a) for a in self.arguments()]
        special = [v for v in found if v.kind != "words"]
        if special:
            return special[0]
        return Values("words", tuple(w for v in found for w in v.words),
                      tuple(h for v in found for h in (v.helps or ("",) * len(v.words))))


def walk(command: click.Command, path: Tuple[str, ...] = (PROG,),
         parent: Optional[click.Context] = None) -> List[Node]:
    """Every visible command under ``command``, depth first, groups before their children."""
    ctx = click.Context(command, info_name=path[-1], parent=parent, **command.context_settings)
    children = []
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            where = " ".join((*path, name))
            try:
                sub = command.get_command(ctx, name)
            except Exception as exc:
                raise DocgenError(f"cannot load '{where}': {type(exc).__name__}: {exc}") from exc
            if sub is None:
                raise DocgenError(f"'{where}' is listed but get_command() returns None")
            if not sub.hidden:
                children.append((name, sub))
    nodes = [Node(path, command, ctx, tuple(children))]
    for name, sub in children:
        nodes += walk(sub, (*path, name), ctx)
    return nodes


def option_names(opt: click.Option) -> List[str]:
    """['-o', '--output']: short forms first; a --x/--no-x pair gives both."""
    return sorted(opt.opts + opt.secondary_opts, key=lambda n: (n.startswith("--"), n))


def takes_value(opt: click.Option) -> bool:
    return not (opt.is_flag or opt.count)


def collapse(text: Optional[str]) -> str:
    """``text`` on one line, its runs of whitespace single spaces."""
    return " ".join((text or "").split())


def label(param: click.Parameter) -> str:
    """One word for a value: the metavar set on it ([PATH]... gives PATH), else its name."""
    return re.sub(r"\W", "", param.metavar or "") or (param.name or "value").upper()


def options_end_at_argument(node: Node) -> bool:
    """Whether the first argument ends the options (click's allow_interspersed_args=False)."""
    return not node.children and not node.ctx.allow_interspersed_args


def short_help(command: click.Command) -> str:
    return command.get_short_help_str(limit=80)


def _sh(text: str) -> str:
    """Single-quoted for bash and zsh."""
    return "'" + text.replace("'", "'\\''") + "'"


