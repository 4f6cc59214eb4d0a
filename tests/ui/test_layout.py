"""Key/value tables at fixed widths: every character of every value is on the
screen, keys and values wrap only where they may, nothing is wider than the
terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from imdsctl.ui.render import render
from imdsctl.ui.shapes import flatten, scalar_text

PROFILE = Path(__file__).parents[2] / "imdsctl" / "emulator" / "profiles" / "linux-2025.json"
DOC = json.loads(PROFILE.read_text())["instance"]
SEPARATORS = "/-.,:;=&?|@+"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def screen(value, width, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    stream = Tty()
    render(value, "table", stream=stream)
    return stream.getvalue()


def reassemble(text: str):
    """(key, [value pieces]) read back from a rendered key/value table."""
    lines = text.rstrip("\n").split("\n")
    rows = []
    if lines[0].startswith("Key"):  # two columns: the value column starts under "Value"
        column = lines[0].index("Value")
        for line in lines[2:]:
            left, right = line[:column].strip(), line[column:]
            if line.startswith("    ") and left:  # a one-word value whole on a line below its key
                rows[-1][1].append(line.strip())
                continue
            if left and not left.startswith((".", "[")):
                rows.append([left, []])
            elif left:
                rows[-1][0] += left
            if right:
                rows[-1][1].append(right)
    else:  # stacked: a key at column 0, its value indented below
        for line in lines:
            if line.startswith(" "):
                rows[-1][1].append(line.strip())
            elif line.startswith((".", "[")):
                rows[-1][0] += line
            else:
                rows.append([line, []])
    return rows


@pytest.mark.parametrize("width", [40, 80, 100, 120])
@pytest.mark.parametrize("section", ["compute", "network"])
def test_every_value_is_on_the_screen_whole(width, section, monkeypatch):
    text = screen(DOC[section], width, monkeypatch)
    assert max(len(line) for line in text.splitlines()) <= width
    shown = {key: pieces for key, pieces in reassemble(text)}
    expected = dict(flatten(DOC[section]))
    assert list(shown) == list(expected)
    for key, value in expected.items():
        # a value wrapped between words loses the spaces it was wrapped at, nothing else
        assert "".join(shown[key]).replace(" ", "") == scalar_text(value).replace(" ", ""), key


@pytest.mark.parametrize("width", [40, 80, 100])
def test_ids_and_paths_wrap_only_after_their_own_separators(width, monkeypatch):
    text = screen(DOC["compute"], width, monkeypatch)
    shown = dict(reassemble(text))
    for key in ("resourceId", "vmId", "publicKeys[0].path", "storageProfile.osDisk.managedDisk.id"):
        pieces = shown[key]
        assert "".join(pieces) == scalar_text(dict(flatten(DOC["compute"]))[key])
        assert all(piece[-1] in SEPARATORS for piece in pieces[:-1]), pieces
    assert DOC["compute"]["vmId"] in text  # a GUID fits any of these widths: never split


def test_a_path_too_wide_for_its_column_goes_whole_below_its_key(monkeypatch):
    path = "/tmp/cases/imds-02aab8a4-74ef-476e-8182-f6d2ba4166a6-20261208T000441Z.tar.gz"
    text = screen({"file": path, "format": "tar.gz", "redactions": 5}, 80, monkeypatch)
    lines = text.splitlines()
    assert lines[2:5] == ["file", "    " + path, "format       tar.gz"], text
    assert max(len(line) for line in lines) <= 80


def test_a_wide_table_stacks_below_two_columns(monkeypatch):
    text = screen({"a" * 30: "b" * 30}, 40, monkeypatch)
    assert text == "a" * 30 + "\n    " + "b" * 30 + "\n"


def test_an_empty_result_says_so_in_one_line(monkeypatch):
    assert screen({}, 80, monkeypatch) == "(no values)\n"
    assert screen([], 80, monkeypatch) == "(no values)\n"
