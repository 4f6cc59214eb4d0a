"""The generated artefacts: fresh, complete, and working in real shells and man.

The completion scripts, the man page and the tables of docs/reference.md (and
the README's exit codes) come from ``imdsctl._docgen``; these tests fail when a
checked-in file is stale (run ``make docs``), when a command or option is missing from one of them, and when
a script does not complete what the click tree says it should.
"""

from __future__ import annotations

import difflib
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import click
import pytest

from imdsctl import _docgen, catalog
from imdsctl.cli import cli
from imdsctl.cli.instance import routes
from imdsctl.errors import EXIT_CODES
from imdsctl.session import VARIABLES as ENV_VARS
from imdsctl.ui.render import FORMATS
from tests.lib.helpers import DOCS_CLICK

pytestmark = pytest.mark.skipif(not DOCS_CLICK, reason="docs are generated with click >= 8.2")

ROOT = _docgen.ROOT
BASH = ROOT / "completions" / "imdsctl.bash"
ZSH = ROOT / "completions" / "_imdsctl"
FISH = ROOT / "completions" / "imdsctl.fish"
MAN = ROOT / "man" / "imdsctl.1"


@pytest.fixture(scope="module")
def nodes() -> List[_docgen.Node]:
    return _docgen.walk(cli)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# -- freshness -------------------------------------------------------------------


def test_checked_in_files_match_the_tree():
    expected = _docgen.generate()
    stale = _docgen.stale(expected)
    diffs = []
    for name in stale:
        current = _read(ROOT / name).splitlines() if (ROOT / name).exists() else []
        diff = difflib.unified_diff(current, expected[name].splitlines(), name, "generated", lineterm="")
        diffs.append("\n".join(list(diff)[:30]))
    assert not stale, f"stale: {', '.join(stale)}; run `make docs`\n" + "\n".join(diffs)


def test_check_and_write_modes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_docgen, "ROOT", tmp_path)
    (tmp_path / "setup.cfg").write_text("", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "reference.md").write_text("# Title\n\nprose\n", encoding="utf-8")
    assert _docgen.main(["--check"]) == 1
    assert "stale: man/imdsctl.1 (run 'make docs')" in capsys.readouterr().err
    assert _docgen.main(["--write"]) == 0
    assert _docgen.main(["--check"]) == 0
    reference = _read(tmp_path / "docs" / "reference.md")
    assert reference.startswith("# Title\n\nprose\n\n<!-- BEGIN generated:fields -->\n")
    assert "<!-- BEGIN generated:exit-codes -->" in _read(tmp_path / "README.md")


def test_a_lazy_command_that_fails_to_import_fails_loudly():
    class Broken(click.Group):
        def list_commands(self, ctx):
            return ["later"]

        def get_command(self, ctx, name):
            raise ImportError("No module named 'imdsctl.later'")

    with pytest.raises(_docgen.DocgenError, match="cannot load 'imdsctl later': ImportError"):
        _docgen.walk(Broken("imdsctl"))


def test_readme_sections_replace_only_between_markers():
    text = ("intro\n<!-- BEGIN generated:env -->\nold\n<!-- END generated:env -->\noutro\n")
    updated = _docgen.update_readme(text, {"env": "new\n", "fields": "table\n"})
    assert updated == ("intro\n<!-- BEGIN generated:env -->\nnew\n<!-- END generated:env -->\noutro\n\n"
                       "<!-- BEGIN generated:fields -->\ntable\n<!-- END generated:fields -->\n")
    assert _docgen.update_readme(updated, {"env": "new\n", "fields": "table\n"}) == updated


def test_reference_tables_cover_the_catalog_the_exit_codes_and_the_environment():
    reference = _read(ROOT / _docgen.REFERENCE)
    for group, field in catalog.all_fields():
        assert f"| `imdsctl {group} {field.name}` | `{field.path}` | {field.since} |" in reference
    for code, meaning in EXIT_CODES:
        assert f"| {int(code)} | {meaning} |" in reference
        assert f"| {int(code)} | {meaning} |" in _read(ROOT / "README.md")
    for name, text in ENV_VARS:
        assert f"| `{name}` | {text} |" in reference


# -- every command and option is in every artefact -----------------------------------


def _names(node: _docgen.Node) -> List[str]:
    return [n for opt in node.options() for n in _docgen.option_names(opt)]


def test_bash_script_lists_every_command_and_option(nodes):
    spec = {m["path"]: m for m in re.finditer(
        r"'(?P<path>[^']+)'\)\n\s+cmds='(?P<cmds>[^']*)'\n\s+opts='(?P<opts>[^']*)'", _read(BASH))}
    assert sorted(spec) == sorted(node.name for node in nodes)
    for node in nodes:
        assert spec[node.name]["cmds"].split() == [name for name, _ in node.children], node.name
        assert spec[node.name]["opts"].split() == _names(node), node.name


def test_zsh_script_lists_every_command_and_option(nodes):
    text = _read(ZSH)
    for node in nodes:
        body = re.search(rf"^{_docgen._zsh_function(node.path)}\(\) {{\n(.*?)^}}$", text, re.S | re.M)
        assert body, f"no zsh function for {node.name}"
        for name, _ in node.children:
            assert f"'{name}:" in body[1], f"{node.name} {name}"
        for name in _names(node):
            assert re.search(rf"(?<![\w-]){re.escape(name)}[=+\[,}}]", body[1]), f"{node.name} {name}"


def test_fish_script_lists_every_command_and_option(nodes):
    text = _read(FISH)
    for node in nodes:
        lines = "\n".join(line for line in text.splitlines() if f'__imdsctl_at "{node.name}"' in line)
        for name, _ in node.children:
            assert f" -a '{name}' " in lines, f"{node.name} {name}"
        for name in _names(node):
            flag = f" -l {name[2:]}" if name.startswith("--") else f" -s {name[1:]}"
            assert re.search(re.escape(flag) + r"\b", lines), f"{node.name} {name}"


def test_man_page_documents_every_command_option_field_code_and_variable(nodes):
    man = _read(MAN)
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "OUTPUT FORMATS",
                    "EXIT STATUS", "ENVIRONMENT", "EXAMPLES", "SEE ALSO"):
        assert f"\n.SH {section}\n" in man
    for node in nodes[1:]:
        section = man.split(f'\n.SS "{_docgen.roff(node.name)}"\n', 1)
        assert len(section) == 2, f"no section for {node.name}"
        body = section[1].split("\n.SS ", 1)[0].split("\n.SH ", 1)[0]
        for name in _names(node):
            assert f"\\fB{_docgen.roff(name)}\\fR" in body, f"{node.name} {name}"
    for group, field in catalog.all_fields():
        assert f"\\fB{_docgen.roff(field.name)}\\fR" in man.split(f'.SS "imdsctl {group}"', 1)[1]
        assert _docgen.roff(f"IMDS path {field.path}, since api-version {field.since}.") in man
    for fmt in FORMATS:
        assert f"\\fB{fmt}\\fR" in man.split(".SH OUTPUT FORMATS", 1)[1].split(".SH ", 1)[0]
    for code, meaning in EXIT_CODES:
        assert f".TP\n.B {int(code)}\n{_docgen.roff(meaning)}\n" in man
    for name, _ in ENV_VARS:
        assert f".TP\n.B {_docgen.roff(name)}\n" in man


def _parse(nodes: List[_docgen.Node], argv: Sequence[str]) -> None:
    """Parse ``argv`` as click would (options, types, callbacks); FIELD values must be
    catalog names, and a command line given to ``emulate`` is parsed in turn."""
    by_path = {node.path: node for node in nodes}
    path = (argv[0],)
    while len(argv) > len(path) and path + (argv[len(path)],) in by_path:
        path += (argv[len(path)],)
    node = by_path[path]
    ctx = node.command.make_context(path[-1], list(argv[len(path):]), parent=node.ctx.parent)
    for arg in node.arguments():
        value, words = ctx.params[arg.name], node.values(arg).words
        if arg.name == "field" and words and value is not None:  # a closed set, unlike PATHs
            assert value in words, f"{' '.join(argv)}: {value!r}"
        if isinstance(value, tuple) and value[:1] == ("imdsctl",):
            _parse(nodes, value)


@pytest.mark.parametrize("text, command", _docgen.EXAMPLES)
def test_man_page_examples_parse_against_the_tree(nodes, text, command):
    _parse(nodes, shlex.split(command))


def _command_examples():
    return [(" ".join(node.path), text, line) for node in _docgen.walk(cli)
            for text, line in getattr(node.command, "examples", ())]


@pytest.mark.parametrize("where, text, line", _command_examples(), ids=lambda v: v[:40])
def test_every_command_has_examples_that_parse_against_the_tree(nodes, where, text, line, tmp_path,
                                                                 monkeypatch):
    """The examples at the end of each --help (and in the man page) are real command
    lines: the imdsctl command in each (inside $(...), before || or >) parses, in a
    directory holding the files it names."""
    command = re.search(r"imdsctl [^)|&>;]*", line).group().strip()
    monkeypatch.chdir(tmp_path)
    for word in shlex.split(command):
        if re.fullmatch(r"[\w.-]+\.(json|pem|tar\.gz)", word):
            (tmp_path / word).write_text("{}")
    _parse(nodes, shlex.split(command))
    assert command.startswith(where) or where == "imdsctl emulate" or "emulate" in command


def test_every_command_that_runs_has_examples():
    missing = [node.name for node in _docgen.walk(cli)
               if (not node.children or getattr(node.command, "invoke_without_command", False))
               and not getattr(node.command, "examples", ())]
    assert missing == []


# -- the man page renders cleanly -----------------------------------------------------


def test_man_page_renders_without_groff_warnings():
    if not shutil.which("groff"):
        pytest.skip("groff is not installed")
    result = subprocess.run(["groff", "-ww", "-man", "-Tutf8", str(MAN)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "imdsctl emulate -- imdsctl compute vm-size" in result.stdout.replace("\u2010", "-")


def test_man_l_shows_the_page():
    if not shutil.which("man"):
        pytest.skip("man is not installed")
    result = subprocess.run(["man", "-P", "cat", "-l", str(MAN)], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "MANWIDTH": "80", "LANG": "C.UTF-8"})
    assert result.returncode == 0, result.stderr
    assert "EXIT STATUS" in result.stdout and "imdsctl compute" in result.stdout


def test_man_page_passes_mandoc_lint():
    if not shutil.which("mandoc"):
        pytest.skip("mandoc is not installed")
    result = subprocess.run(["mandoc", "-Tlint", "-W", "warning", str(MAN)], capture_output=True, text=True)
    # The date is left empty on purpose: the page must not change from one run to the next.
    problems = [line for line in (result.stdout + result.stderr).splitlines() if "missing date" not in line]
    assert not problems, "\n".join(problems)


# -- the completion scripts work in real shells ------------------------------------------


def _comp_words(line: str) -> List[str]:
    """COMP_WORDS as bash builds them for TAB at the end of ``line``: '=' is a word of its own."""
    words = []
    for token in line.split(" "):
        words += [part for part in re.split("(=)", token) if part] or [""]
    return words


def complete(line: str, script: Path = BASH, cwd: Path = None) -> List[str]:
    """What bash offers for TAB at the end of ``line``: the completion function's COMPREPLY."""
    driver = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
              'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _imdsctl; printf "%s\\n" "${COMPREPLY[@]}"')
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", driver, "bash", str(script),
                             *_comp_words(line)], capture_output=True, text=True, cwd=cwd, timeout=30)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [word for word in result.stdout.split("\n") if word]


needs_bash = pytest.mark.skipif(not shutil.which("bash"), reason="bash is not installed")


@needs_bash
@pytest.mark.parametrize("line, expected", [
    ("imdsctl com", ["completion", "compute"]),
    ("imdsctl compute vm-", ["vm-id", "vm-scale-set-name", "vm-size"]),
    ("imdsctl compute --timeout 5 vm-i", ["vm-id"]),
    ("imdsctl compute -q x --debug fault", ["fault-domain"]),
    ("imdsctl get -o ", list(FORMATS)),
    ("imdsctl get --output ", list(FORMATS)),
    ("imdsctl get --output=", list(FORMATS)),
    ("imdsctl get --output=js", ["json", "jsonc"]),
    ("imdsctl network pri", ["private-ip"]),
    ("imdsctl network --nic ", []),
    ("imdsctl network --mac 00:0d:3a:1b:2c:3d --i", ["--ip"]),
    ("imdsctl get ", list(routes())),
    ("imdsctl get network/interface/0/m", ["network/interface/0/macAddress"]),
    ("imdsctl emulator ", ["profiles", "serve"]),
    ("imdsctl emulator serve --po", ["--port"]),
    ("imdsctl emulate -- -", []),
    ("imdsctl emulate --fa", ["--fault"]),
    ("imdsctl emulate --rate 9 ./boot.sh -", []),
])
def test_bash_completes(line, expected):
    assert complete(line) == expected


@needs_bash
def test_bash_completes_what_the_tree_says(nodes):
    for node in nodes:
        assert complete(node.name + " -") == _names(node), node.name
        if node.children:
            assert complete(node.name + " ") == [name for name, _ in node.children], node.name
        for opt in node.options():
            values = node.values(opt) if _docgen.takes_value(opt) else None
            if values and values.words:
                for name in _docgen.option_names(opt):
                    assert complete(f"{node.name} {name} ") == list(values.words), f"{node.name} {name}"
        words = node.argument_values().words
        if words and not node.children:
            assert complete(node.name + " ") == list(words), node.name


@click.group()
def _tool():
    """A tree with what imdsctl does not use (yet): paths, --x/--no-x, counts."""


@_tool.group("nested")
def _nested():
    """A nested group."""


@_nested.command("leaf")
@click.option("--config", type=click.Path(dir_okay=False), help="A file.")
@click.option("--out-dir", type=click.Path(file_okay=False), help="A directory.")
@click.option("--color/--no-color", help="Colour.")
@click.option("-v", "--verbose", count=True, help="More.")
@click.argument("source", type=click.File())
def _leaf(**_):
    """Leaf."""


@needs_bash
def test_bash_completes_paths_flags_and_nested_groups(tmp_path):
    script = tmp_path / "tool.bash"
    script.write_text(_docgen.bash_script(_docgen.walk(_tool)), encoding="utf-8")
    cwd = tmp_path / "cwd"
    (cwd / "sub").mkdir(parents=True)
    (cwd / "a.json").write_text("{}")
    assert complete("imdsctl nested ", script) == ["leaf"]
    assert sorted(complete("imdsctl nested leaf --c", script)) == ["--color", "--config"]
    assert complete("imdsctl nested leaf --no", script) == ["--no-color"]
    assert sorted(complete("imdsctl nested leaf --config ", script, cwd)) == ["a.json", "sub"]
    assert complete("imdsctl nested leaf --out-dir ", script, cwd) == ["sub"]
    assert sorted(complete("imdsctl nested leaf -vv --color ", script, cwd)) == ["a.json", "sub"]


@pytest.mark.parametrize("shell, args, script", [
    ("zsh", ["-n"], ZSH),
    ("fish", ["--no-execute"], FISH),
    ("bash", ["-n"], BASH),
])
def test_scripts_parse(shell, args, script):
    if not shutil.which(shell):
        pytest.skip(f"{shell} is not installed")
    result = subprocess.run([shell, *args, str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_check_from_a_fresh_process_with_another_hash_seed():
    result = subprocess.run([sys.executable, "-m", "imdsctl._docgen", "--check"], capture_output=True,
                            text=True, cwd=ROOT, env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
