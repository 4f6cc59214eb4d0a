"""Generate the checked-in docs from the click tree: shell completions, the man
page and the README's generated sections.

    python -m imdsctl._docgen --write    regenerate the stale files in place (make docs)
    python -m imdsctl._docgen --check    list the stale files and exit 1 if there are any

The completion scripts are static: the command tree, the options and the values
each parameter's own ``shell_complete`` offers are written into them, so TAB
never starts Python.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import click

from . import __version__, catalog, output
from .cli import ENV_VARS, cli
from .errors import EXIT_CODES

PROG = "imdsctl"
ROOT = Path(__file__).resolve().parent.parent
NOTICE = "generated from the click tree by `python -m imdsctl._docgen --write` (make docs); do not edit"

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

_WORD = re.compile(r"[\w.:@%+,/=-]+")  # a candidate every shell takes unquoted


class DocgenError(Exception):
    """The tree cannot be documented, e.g. a lazy command failed to import."""


# -- the tree --------------------------------------------------------------------


@dataclass(frozen=True)
class Values:
    """What a value completes to: ``words``, or paths when ``kind`` is 'file' or 'dir'."""

    kind: str = "words"
    words: Tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.kind != "words" or bool(self.words)


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
        for kind in ("file", "dir"):
            if any(item.type == kind for item in items):
                return Values(kind)
        words = tuple(dict.fromkeys(str(item.value) for item in items))
        bad = [w for w in words if not _WORD.fullmatch(w)]
        if bad:
            raise DocgenError(f"{self.name} {param.name}: cannot write {bad!r} into a completion script")
        return Values("words", words)

    def argument_values(self) -> Values:
        """What the positional arguments complete to, all positions together."""
        found = [self.values(a) for a in self.arguments()]
        paths = [v for v in found if v.kind != "words"]
        return paths[0] if paths else Values("words", tuple(w for v in found for w in v.words))


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


def one_line(text: Optional[str]) -> str:
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


# -- bash ----------------------------------------------------------------------

BASH = r"""# bash completion for imdsctl: @NOTICE@.
# Use: source this file, or copy it to ~/.local/share/bash-completion/completions/imdsctl.

# _imdsctl_spec PATH [OPTION]: what the command PATH takes: subcommands (cmds), options (opts),
# the options that take a value (valued), argument values (args), whether the first argument
# ends the options (stop), and OPTION's values (vals). Values are words, or @file / @dir for paths.
_imdsctl_spec() {
    vals='' stop=''
    case $1 in
@SPEC@
    esac
}

# _imdsctl_reply WORDS: complete $cur from WORDS, or from paths for @file and @dir.
_imdsctl_reply() {
    case $1 in
        @file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        @dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
        *) mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur") ;;
    esac
}

_imdsctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local path=imdsctl word opt i=1 dashdash='' cmds opts valued args stop vals
    _imdsctl_spec "$path"
    # Follow the subcommands typed before the cursor, skipping option values.
    while ((i < COMP_CWORD)); do
        word=${COMP_WORDS[i]}
        if [[ $dashdash ]]; then
            :
        elif [[ $word == -- ]]; then
            dashdash=1
        elif [[ " $valued " == *" $word "* ]]; then
            ((i++))
            [[ ${COMP_WORDS[i]} == = ]] && ((i++))
        elif [[ " $cmds " == *" $word "* ]]; then
            path+=" $word"
            _imdsctl_spec "$path"
        elif [[ $stop && $word != -* ]]; then
            dashdash=1
        fi
        ((i++))
    done
    # An option's value: "--opt <TAB>", "--opt=<TAB>" (cur is "=") or "--opt=v<TAB>".
    opt=$prev
    if [[ $cur == = ]]; then
        cur=''
    elif [[ $prev == = ]]; then
        opt=${COMP_WORDS[COMP_CWORD-2]}
    fi
    if [[ ! $dashdash && " $valued " == *" $opt "* ]]; then
        _imdsctl_spec "$path" "$opt"
        _imdsctl_reply "$vals"
    elif [[ ! $dashdash && $cur == -* ]]; then
        _imdsctl_reply "$opts"
    elif [[ $cmds ]]; then
        _imdsctl_reply "$cmds"
    else
        _imdsctl_reply "$args"
    fi
}

complete -F _imdsctl imdsctl
"""


def _bash(values: Values) -> str:
    return _sh("@" + values.kind if values.kind != "words" else " ".join(values.words))


def bash_script(nodes: List[Node]) -> str:
    spec = []
    for node in nodes:
        valued = [o for o in node.options() if takes_value(o)]
        spec += [f"        {_sh(node.name)})",
                 f"            cmds={_sh(' '.join(name for name, _ in node.children))}",
                 f"            opts={_sh(' '.join(n for o in node.options() for n in option_names(o)))}",
                 f"            valued={_sh(' '.join(n for o in valued for n in option_names(o)))}",
                 f"            args={_bash(node.argument_values())}"]
        spec += ["            stop=1"] if options_end_at_argument(node) else []
        cases = [f"{'|'.join(option_names(o))}) vals={_bash(node.values(o))} ;;" for o in valued
                 if node.values(o)]
        spec += [f"            case $2 in {' '.join(cases)} esac"] if cases else []
        spec[-1] += " ;;"
    return BASH.replace("@NOTICE@", NOTICE).replace("@SPEC@", "\n".join(spec))


# -- zsh -----------------------------------------------------------------------

ZSH_GROUP = """{fn}() {{
  local curcontext=$curcontext state state_descr line ret=1
  typeset -A opt_args
  local -a commands=(
{commands}
  )
  _arguments -C -S{specs} \\
    '1: :->command' \\
    '*:: :->args' && ret=0
  case $state in
    (command) _describe -t commands {title} commands && ret=0 ;;
    (args)
      curcontext=${{curcontext%:*:*}}:{context}-$words[1]:
      case $words[1] in
{dispatch}
      esac ;;
  esac
  return ret
}}
"""


def _zsh_function(path: Tuple[str, ...]) -> str:
    return "_" + "_".join(re.sub(r"\W", "_", part) for part in path)


def _zsh_action(values: Values) -> str:
    if values.kind != "words":
        return "_files" if values.kind == "file" else "_files -/"
    return f"({' '.join(values.words)})" if values.words else " "  # a space: no candidates


def _zsh_option(node: Node, opt: click.Option) -> str:
    names = option_names(opt)
    spec = "[" + re.sub(r"([\[\]\\])", r"\\\1", one_line(opt.help)) + "]"
    if takes_value(opt):
        spec += f":{label(opt)}:{_zsh_action(node.values(opt))}"
        names = [n + ("=" if n.startswith("--") else "+") for n in names]
    exclude = f"({' '.join(option_names(opt))})" if len(names) > 1 else ""
    prefix = "*" if opt.multiple or opt.count else exclude
    if len(names) == 1:
        return _sh(prefix + names[0] + spec)
    return (_sh(prefix) if prefix else "") + "{" + ",".join(names) + "}" + _sh(spec)


def _zsh_arguments(node: Node) -> List[str]:
    specs: List[str] = []
    for arg in node.arguments():
        action = f"{label(arg)}:{_zsh_action(node.values(arg))}"
        if arg.nargs < 0:
            return specs + [_sh(f"*:{action}")]
        specs += [_sh(f"{len(specs) + 1}:{action}") for _ in range(arg.nargs)]
    return specs


def zsh_script(nodes: List[Node]) -> str:
    out = [f"#compdef {PROG}", f"# zsh completion for {PROG}: {NOTICE}.",
           f"# Use: copy this file as _{PROG} into a directory of $fpath, or source it after compinit.", ""]
    for node in nodes:
        fn = _zsh_function(node.path)
        specs = "".join(f" \\\n    {s}" for s in [_zsh_option(node, o) for o in node.options()]
                        + _zsh_arguments(node))
        if not node.children:
            stop = " -A '-*'" if options_end_at_argument(node) else ""
            out += [f"{fn}() {{", f"  _arguments -S{stop}{specs}", "}", ""]
            continue
        out.append(ZSH_GROUP.format(
            fn=fn, specs=specs, title=_sh(f"{node.name} command"), context="-".join(node.path),
            commands="\n".join(f"    {_sh(name.replace(':', chr(92) + ':') + ':' + short_help(cmd))}"
                                for name, cmd in node.children),
            dispatch="\n".join(f"        ({name}) {_zsh_function((*node.path, name))} && ret=0 ;;"
                               for name, _ in node.children)))
    out += ["if [[ $zsh_eval_context[-1] == loadautofunc ]]; then", f'  _{PROG} "$@"',
            "else", f"  compdef _{PROG} {PROG}", "fi", ""]
    return "\n".join(out)


# -- fish ----------------------------------------------------------------------

FISH = r"""# fish completion for imdsctl: @NOTICE@.
# Use: copy this file to ~/.config/fish/completions/imdsctl.fish.

# The command path before the cursor ("imdsctl emulator serve"), skipping the values of group options.
function __imdsctl_path
    set -l commands@COMMANDS@
    set -l valued@VALUED@
    set -l path imdsctl
    set -l skip 0
    set -l words (commandline -opc)
    set -e words[1]
    for word in $words
        if test $skip = 1
            set skip 0
        else if test "$word" = --
            break
        else if contains "$path $word" $commands
            set path "$path $word"
        else if contains "$path $word" $valued
            set skip 1
        end
    end
    echo $path
end

function __imdsctl_at --description 'Is the command path before the cursor $argv?'
    test (__imdsctl_path) = "$argv"
end

complete -c imdsctl -f
"""


def _fq(text: str) -> str:
    """Single-quoted for fish."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_values(values: Values) -> str:
    if values.kind != "words":
        return " -F" if values.kind == "file" else " -a '(__fish_complete_directories)'"
    return f" -a {_fq(' '.join(values.words))}" if values.words else ""


def _fish_flags(node: Node, opt: click.Option) -> str:
    flags = "".join(f" -l {n[2:]}" if n.startswith("--") else f" -{'so'[len(n) > 2]} {n[1:]}"
                    for n in option_names(opt))
    if not takes_value(opt):
        return flags
    values = node.values(opt)
    return flags + (" -r" if values.kind == "file" else " -x") + _fish_values(values)


def fish_script(nodes: List[Node]) -> str:
    commands = [f"{n.name} {name}" for n in nodes for name, _ in n.children]
    # Only a group's option values can be mistaken for a subcommand.
    valued = [f"{n.name} {name}" for n in nodes if n.children for o in n.options() if takes_value(o)
              for name in option_names(o)]
    lines = []
    for node in nodes:
        at = f"complete -c {PROG} -n {_fq(f'__imdsctl_at {chr(34)}{node.name}{chr(34)}')}"
        lines.append(f"\n# {node.name}")
        lines += [f"{at} -a {_fq(name)} -d {_fq(short_help(cmd))}" for name, cmd in node.children]
        lines += [f"{at}{_fish_flags(node, o)} -d {_fq(one_line(o.help))}" for o in node.options()]
        values = node.argument_values()
        if values:
            lines.append(f"{at}{_fish_values(values)} -d {_fq(label(node.arguments()[0]))}")
    return (FISH.replace("@NOTICE@", NOTICE)
            .replace("@COMMANDS@", "".join(f" \\\n        {_fq(c)}" for c in commands))
            .replace("@VALUED@", "".join(f" \\\n        {_fq(v)}" for v in valued))) + "\n".join(lines) + "\n"


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
                out += [".IP \\(bu 2", roff(one_line(item))]
        elif para.strip():
            out += [".PP", roff(one_line(para))]
    return out


def _man_option(node: Node, opt: click.Option) -> List[str]:
    tag = ", ".join(f"\\fB{roff(n)}\\fR" for n in option_names(opt))
    tag += f" \\fI{roff(opt.make_metavar(node.ctx))}\\fR" if takes_value(opt) else ""
    extra = opt.get_help_extra(node.ctx)
    notes = [f"{key}: {extra[key]}" for key in ("default", "range") if key in extra]
    notes += [f"env: {var}" for var in ([opt.envvar] if isinstance(opt.envvar, str) else opt.envvar or [])]
    notes += ["required"] if opt.required else []
    return [".TP", tag, roff(one_line(opt.help) + (f" [{'; '.join(notes)}]" if notes else ""))]


def _man_fields(fields: List[catalog.Field]) -> List[str]:
    out = [".PP", ".B Fields"]
    for f in fields:
        out += [".TP", f"\\fB{roff(f.name)}\\fR", roff(f.help), ".br",
                roff(f"IMDS path {f.path}, since api-version {f.since or 'unknown'}.")]
        out += [".br", roff(f"Also: {', '.join(f.aliases)}.")] if f.aliases else []
    return out


def _man_command(node: Node, fields: List[catalog.Field]) -> List[str]:
    """Usage, help and options; then the catalog fields if any, else the epilog (the
    fields' epilog repeats the catalog table, so it is left out)."""
    usage = " ".join(node.command.collect_usage_pieces(node.ctx))
    out = [f'.SS "{roff(node.name)}"', ".PP", f"\\fB{roff(node.name)}\\fR {roff(usage)}",
           *_paragraphs(node.command.help)]
    for opt in node.options():
        out += _man_option(node, opt)
    return out + (_man_fields(fields) if fields else _paragraphs(node.command.epilog))


def _output_formats() -> List[str]:
    """The user-facing paragraphs of output.py's docstring: those naming -o or a format."""
    names = "|".join(("-o", *output.FORMATS))
    paragraphs = [p for p in re.split(r"\n\s*\n", inspect.cleandoc(output.__doc__ or ""))
                  if re.search(rf"``({names})``", p)]
    intro = f"Choose a format with -o/--output or IMDSCTL_OUTPUT: {', '.join(output.FORMATS)}."
    return [".PP", roff(intro), *_paragraphs("\n\n".join(paragraphs))]


def man_page(nodes: List[Node]) -> str:
    """The man page. The root's epilog (exit codes, environment) becomes EXIT STATUS and
    ENVIRONMENT, built from the same tables."""
    root, fields = nodes[0], {}
    for group, field in catalog.all_fields():
        fields.setdefault((PROG, group), []).append(field)
    summary = short_help(root.command).rstrip(".")
    out = [f'.\\" Man page for {PROG}: {NOTICE}.',
           f'.TH {PROG.upper()} 1 "" "{PROG} {__version__}" "User Commands"',
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
        out += _man_command(node, fields.get(node.path, []))
    out += [".SH OUTPUT FORMATS", *_output_formats(), ".SH EXIT STATUS"]
    out += [line for code, meaning in EXIT_CODES for line in (".TP", f".B {int(code)}", roff(meaning))]
    out.append(".SH ENVIRONMENT")
    out += [line for name, text in ENV_VARS for line in (".TP", f".B {roff(name)}", roff(text))]
    out.append(".SH EXAMPLES")
    for text, command in EXAMPLES:
        out += [".PP", roff(text), ".RS", ".EX", roff(command), ".EE", ".RE"]
    out += [".SH SEE ALSO", ".BR curl (1),", ".BR jq (1)", ".PP",
            roff("Azure Instance Metadata Service: "
                 "https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service"),
            ".br", roff("JMESPath, the --query language: https://jmespath.org")]
    return "\n".join(out) + "\n"


# -- README sections -------------------------------------------------------------


def _table(header: Tuple[str, ...], rows: List[Tuple[str, ...]]) -> str:
    lines = [header, tuple("---" for _ in header), *rows]
    return "".join("| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |\n" for line in lines)


def readme_sections() -> Dict[str, str]:
    """The README's generated sections, by marker name."""
    fields = [(f"`{PROG} {group} {f.name}`", f"`{f.path}`", f.since or "unknown",
               f.help + "".join(f" Also `{a}`." for a in f.aliases)) for group, f in catalog.all_fields()]
    return {
        "fields": _table(("Command", "IMDS path", "Since api-version", "Description"), fields),
        "exit-codes": _table(("Code", "Meaning"), [(str(int(c)), m) for c, m in EXIT_CODES]),
        "env": _table(("Variable", "Meaning"), [(f"`{n}`", t) for n, t in ENV_VARS]),
    }


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
    return {
        "completions/imdsctl.bash": bash_script(nodes),
        "completions/_imdsctl": zsh_script(nodes),
        "completions/imdsctl.fish": fish_script(nodes),
        "man/imdsctl.1": man_page(nodes),
        "README.md": update_readme(_read(ROOT / "README.md"), readme_sections()),
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


if __name__ == "__main__":
    sys.exit(main())
