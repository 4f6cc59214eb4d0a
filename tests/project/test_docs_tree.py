"""The docs as a tree a newcomer can walk: no merge-conflict markers left in any
tracked file, a README short enough to be a front door, and no relative link in
the README or docs/ that leads nowhere (a file that is not there, or a heading
that is not on the page)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Set

import pytest

#: What this checks is the same on every Python: the oldest-Python pass leaves it out.
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 200
#: The lines git writes around a conflict, spelt so that this file holds none of them.
CONFLICT_MARKERS = ("<" * 7 + " ", ">" * 7 + " ")
PAGES: List[Path] = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)


def _tracked_files() -> List[Path]:
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"not a git checkout ({done.stderr.decode(errors='replace').strip()})")
    return [ROOT / name for name in done.stdout.decode("utf-8", "surrogateescape").split("\0") if name]


def _text(path: Path) -> str:
    """The file as text, or '' for a binary file, one that is not UTF-8 or one not on disk."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):  # deleted in the work tree, or a submodule
        return ""
    if b"\0" in data:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def test_no_tracked_file_holds_a_merge_conflict():
    found = []
    for path in _tracked_files():
        for number, line in enumerate(_text(path).splitlines(), 1):
            if line.startswith(CONFLICT_MARKERS):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line[:60]}")
    assert not found, "merge-conflict markers left in:\n" + "\n".join(found)


def test_the_readme_is_a_front_door():
    lines = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (f"README.md has {lines} lines, at most {README_MAX_LINES}: "
                                       "move the details to a page of docs/")


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path, cache: Dict[Path, Set[str]]) -> Set[str]:
    if path not in cache:
        text = FENCE.sub("", path.read_text(encoding="utf-8"))
        slugs: Set[str] = set()
        for heading in HEADING.findall(text):
            slug, n = _slug(heading), 0
            while (slug if n == 0 else f"{slug}-{n}") in slugs:  # GitHub numbers repeated headings
                n += 1
            slugs.add(slug if n == 0 else f"{slug}-{n}")
        cache[path] = slugs
    return cache[path]


def _links(page: Path) -> List[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return LINK.findall(text)


def test_there_are_pages_and_links():
    assert (ROOT / "docs" / "README.md") in PAGES and len(PAGES) >= 10
    assert len(_links(ROOT / "README.md")) >= 10


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_somewhere(page):
    anchors: Dict[Path, Set[str]] = {}
    broken = []
    for target in _links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # https:, mailto: ...: not ours to check
        name, _, anchor = target.partition("#")
        path = (page.parent / name).resolve() if name else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path, anchors):
            broken.append(f"{target}: no heading #{anchor} on {path.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}:\n" + "\n".join(broken)
