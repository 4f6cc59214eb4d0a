"""Static bash, zsh and fish completion scripts: TAB never starts Python."""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

import click

from imdsctl._docgen.tree import (
    NOTICE,
    PROG,
    Node,
    Values,
    _sh,
    collapse,
    label,
    option_names,
    options_end_at_argument,
    short_help,
    takes_value,
)

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

# _imdsctl_reply WORDS: complete $cur from WORDS, or from paths for @file and @dir, or as a
# command line of its own for @command (bash-completion's _command_offset where it is loaded).
_imdsctl_reply() {
    case $1 in
        @file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        @dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
        @command)
            if declare -F _command_offset >/dev/null; then
                _command_offset "$first"
            elif ((COMP_CWORD == first)); then
                mapfile -t COMPREPLY < <(compgen -c -- "$cur")
            else
                compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            fi ;;
        *) mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur") ;;
    esac
}

_imdsctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local path=imdsctl word opt i=1 dashdash='' cmds opts valued args stop vals first=0
    _imdsctl_spec "$path"
    # Follow the subcommands typed before the cursor, skipping option values.
    while ((i < COMP_CWORD)); do
        word=${COMP_WORDS[i]}
        if [[ $dashdash ]]; then
            :
        elif [[ $word == -- ]]; then
            dashdash=1 first=$((i + 1))
        elif [[ " $valued " == *" $word "* ]]; then
            ((i++))
            [[ ${COMP_WORDS[i]} == = ]] && ((i++))
        elif [[ " $cmds " == *" $word "* ]]; then
            path+=" $word"
            _imdsctl_spec "$path"
        elif [[ $stop && $word != -* ]]; then
            dashdash=1 first=$i
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
    ((first)) || first=$COMP_CWORD
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


def _zsh_described(word: str, help: str) -> str:
    return word.replace(":", "\\:") + "\\:" + '"' + help.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _zsh_action(values: Values) -> str:
    if values.kind == "command":
        return "_normal"
    if values.kind != "words":
        return "_files" if values.kind == "file" else "_files -/"
    if values.described():  # ((word\:"what it is" ...)): zsh shows each word's description
        return "((" + " ".join(_zsh_described(w, h) for w, h in zip(values.words, values.helps)) + "))"
    return f"({' '.join(values.words)})" if values.words else " "  # a space: no candidates


def _zsh_option(node: Node, opt: click.Option) -> str:
    names = option_names(opt)
    spec = "[" + re.sub(r"([\[\]\\])", r"\\\1", collapse(opt.help)) + "]"
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
        if node.values(arg).kind == "command":  # the rest of the line is a command line of its own
            return specs + [_sh(f"*::{label(arg)}:_{PROG}_command_line")]
        if arg.nargs < 0:
            return specs + [_sh(f"*:{action}")]
        specs += [_sh(f"{len(specs) + 1}:{action}") for _ in range(arg.nargs)]
    return specs


def zsh_script(nodes: List[Node]) -> str:
    out = [f"#compdef {PROG}", f"# zsh completion for {PROG}: {NOTICE}.",
           f"# Use: copy this file as _{PROG} into a directory of $fpath, or source it after compinit.", "",
           "# A command line of its own (after 'emulate --'): its command, then that command's arguments.",
           f"_{PROG}_command_line() {{", "  if [[ $words[1] == -- ]]; then shift words; (( CURRENT-- )); fi",
           "  _normal", "}", ""]
    for node in nodes:
        fn = _zsh_function(node.path)
        specs = "".join(f" \\\n    {s}" for s in [_zsh_option(node, o) for o in node.options()]
                        + _zsh_arguments(node))
        if not node.children:
            commands = any(node.values(a).kind == "command" for a in node.arguments())
            stop = " -A '-*'" if options_end_at_argument(node) and not commands else ""
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


def _fish_values(values: Values, node: Optional[Node] = None) -> str:
    if values.kind == "command" and node is not None:  # a command line of its own, after NODE's words
        valued = " ".join(n for o in node.options() if takes_value(o) for n in option_names(o))
        return f" -a {_fq(f'(__fish_complete_subcommand --fcs-skip={len(node.path)} {valued})')}"
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
        lines += [f"{at}{_fish_flags(node, o)} -d {_fq(collapse(o.help))}" for o in node.options()]
        values = node.argument_values()
        if values.described():  # each word with its description
            lines += [f"{at} -a {_fq(word)} -d {_fq(help or label(node.arguments()[0]))}"
                      for word, help in zip(values.words, values.helps)]
        elif values:
            lines.append(f"{at}{_fish_values(values, node)} -d {_fq(label(node.arguments()[0]))}")
    return (FISH.replace("@NOTICE@", NOTICE)
            .replace("@COMMANDS@", "".join(f" \\\n        {_fq(c)}" for c in commands))
            .replace("@VALUED@", "".join(f" \\\n        {_fq(v)}" for v in valued))) + "\n".join(lines) + "\n"


