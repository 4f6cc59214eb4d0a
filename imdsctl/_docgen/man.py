"""The imdsctl(1) manual page, in man(7) roff."""

from __future__ import annotations

import inspect
import re
from typing import List, Optional, Tuple

import click

from imdsctl import __version__, catalog
from imdsctl._docgen.tree import NOTICE, PROG, Node, collapse, option_names, short_help, takes_value
from imdsctl.errors import EXIT_CODES
from imdsctl.session import VARIABLES
from imdsctl.ui import render

#: The page's date (.TH): the version's, moved when the version is (not the build's, so
#: that the page is the same wherever it is generated).
DATE = "2026-12-02"

#: The man page's EXAMPLES: (what it shows, command line). The tests parse each against the tree.
EXAMPLES: Tuple[Tuple[str, str], ...] = (
    ("The VM's unique id, bare, for a script:", "imdsctl compute vm-id"),
    ("Its tags as an object, in YAML:", "imdsctl compute tags -o yaml"),
    ("The private IP of the NIC with a given MAC address:",
     "imdsctl network private-ip --mac 00:0d:3a:1b:2c:3d"),
    ("The names of the data disks, one per line, with a JMESPath query:",
     "imdsctl get compute/storageProfile/dataDisks -q '[].name' -o tsv"),
    ("The compute facts as shell variables (VM_COMPUTE_VMID=...) that are safe to eval:",
     "imdsctl compute -o env --prefix VM_"),
    ("Ask with an older api-version, as an old agent would:",
     "imdsctl compute --api-version 2019-02-01 -o json"),
    ("The same commands off Azure, against the emulator on 127.0.0.1:",
     "imdsctl emulate -- imdsctl compute vm-size"),
)


# -- man page ------------------------------------------------------------------


def roff(text: str) -> str:
    """Escaped for a roff text line or a quoted macro argument: ``x`` becomes bold, and
    options, names with _ and paths are not hyphenated (--api-version, IMDSCTL_TIMEOUT,
    compute/vmId), but paths may break after a slash."""
    text = text.replace("\\", "\\e").replace("-", "\\-").replace('"', "\\(dq")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    text = re.sub(r"/(?!/)", r"/\\:\\%", re.sub(r"(?:^|(?<=\s))(?=\S*[_/]|\\-)", r"\\%", text))
    text = re.sub(r"``(.+?)``", r"\\fB\1\\fR", text)
    return "\\&" + text if text[:1] in (".", "'") else text


def _paragraphs(text: Optional[str]) -> List[str]:
    """Help text as roff: paragraphs filled, click's \\b blocks and indented ones verbatim,
    '* ' lists as bullets."""
    out = []
    for para in re.split(r"\n\s*\n", inspect.cleandoc(text or "").split("\f")[0]):
        if para.startswith("\b"):
            out += [".PP", ".nf", *map(roff, para.splitlines()[1:]), ".fi"]
        elif para.startswith(" "):
            out += [".PP", ".RS", ".EX", *map(roff, inspect.cleandoc(para).splitlines()), ".EE", ".RE"]
        elif para.startswith("* "):
            for item in re.split(r"(?m)^\* ", para)[1:]:
                out += [".IP \\(bu 2", roff(collapse(item))]
        elif para.strip():
            out += [".PP", roff(collapse(para))]
    return out


def _man_option(node: Node, opt: click.Option) -> List[str]:
    tag = ", ".join(f"\\fB{roff(n)}\\fR" for n in option_names(opt))
    tag += f" \\fI{roff(opt.make_metavar(node.ctx))}\\fR" if takes_value(opt) else ""
    extra = opt.get_help_extra(node.ctx)
    notes = [f"default: {extra['default']}"] if "default" in extra else []
    notes += [f"range: {extra['range']}"] if "range" in extra else []
    notes += [f"env: {var}" for var in ([opt.envvar] if isinstance(opt.envvar, str) else opt.envvar or [])]
    notes += ["required"] if opt.required else []
    return [".TP", tag, roff(collapse(opt.help) + (f" [{'; '.join(notes)}]" if notes else ""))]


def _man_fields(fields: List[catalog.Field]) -> List[str]:
    out = [".PP", ".B Fields"] if fields else []
    for f in fields:
        out += [".TP", f"\\fB{roff(f.name)}\\fR", roff(f.help), ".br",
                roff(f"IMDS path {f.path}, since api-version {f.since or 'unknown'}.")]
        out += [".br", roff(f"Also: {', '.join(f.aliases)}.")] if f.aliases else []
    return out


def _man_command(node: Node) -> List[str]:
    """Usage, help and options; then the catalog fields, the epilog and the examples."""
    usage = " ".join(node.command.collect_usage_pieces(node.ctx))
    out = [f'.SS "{roff(node.name)}"', ".PP", f"\\fB{roff(node.name)}\\fR {roff(usage)}",
           *_paragraphs(node.command.help)]
    for opt in node.options():
        out += _man_option(node, opt)
    out += _man_fields(list(getattr(node.command, "fields", ()))) + _paragraphs(node.command.epilog)
    return out + _man_examples(getattr(node.command, "examples", ()))


def _man_examples(examples: Tuple[Tuple[str, str], ...]) -> List[str]:
    out = [".PP", ".B Examples"] if examples else []
    for text, command in examples:
        out += [".PP", roff(text), ".RS", ".EX", roff(command), ".EE", ".RE"]
    return out


def _output_formats() -> List[str]:
    """output.FORMAT_HELP, one bullet per format."""
    intro = f"Choose a format with -o/--output or IMDSCTL_OUTPUT: {', '.join(render.FORMATS)}."
    bullets = [line for name, text in render.FORMAT_HELP.items()
               for line in (".IP \\(bu 2", roff(f"``{name}`` {text}"))]
    after = ("Without -o, a value prints as text (the bare value and one newline), a container as a "
             "table on a terminal and as JSON anywhere else.")
    return [".PP", roff(intro), *bullets, ".PP", roff(after)]


def man_page(nodes: List[Node]) -> str:
    """The man page. The root's epilog (exit codes, environment) becomes EXIT STATUS and
    ENVIRONMENT, built from the same tables."""
    root = nodes[0]
    summary = short_help(root.command).rstrip(".")
    out = [f'.\\" Man page for {PROG}: {NOTICE}.',
           f'.TH {PROG.upper()} 1 {DATE} "{PROG} {__version__}" "User Commands"',
           ".SH NAME", f"{PROG} \\- {roff(summary[:1].lower() + summary[1:])}", ".SH SYNOPSIS"]
    for node in nodes:
        runnable = not node.children or getattr(node.command, "invoke_without_command", False)
        if node is root or runnable:
            usage = " ".join(node.command.collect_usage_pieces(node.ctx))
            out += [f"\\fB{roff(node.name)}\\fR {roff(usage)}", ".br"]
    out += [".SH DESCRIPTION", *_paragraphs(root.command.help), ".SH OPTIONS"]
    for opt in root.options():
        out += _man_option(root, opt)
    out.append(".SH COMMANDS")
    for node in nodes[1:]:
        out += _man_command(node)
    out += [".SH OUTPUT FORMATS", *_output_formats(), ".SH EXIT STATUS"]
    out += [line for code, meaning in EXIT_CODES for line in (".TP", f".B {int(code)}", roff(meaning))]
    out.append(".SH ENVIRONMENT")
    out += [line for name, text in VARIABLES for line in (".TP", f".B {roff(name)}", roff(text))]
    out.append(".SH EXAMPLES")
    for text, command in EXAMPLES:
        out += [".PP", roff(text), ".RS", ".EX", roff(command), ".EE", ".RE"]
    out += [".SH SEE ALSO", ".BR curl (1),", ".BR jq (1)", ".PP",
            roff("Azure Instance Metadata Service: "
                 "https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service"),
            ".br", roff("JMESPath, the --query language: https://jmespath.org")]
    return "\n".join(_tidy(out)) + "\n"


def _tidy(lines: List[str]) -> List[str]:
    """Without the paragraph macros a section heading already implies (mandoc -Tlint
    warns about a .PP right after .SH or .SS, and a .br right before one)."""
    kept: List[str] = []
    for index, line in enumerate(lines):
        after_heading = line == ".PP" and kept and kept[-1].startswith((".SH", ".SS"))
        before_heading = line == ".br" and index + 1 < len(lines) and lines[index + 1].startswith(
            (".SH", ".SS"))
        if not (after_heading or before_heading):
            kept.append(line)
    return kept


