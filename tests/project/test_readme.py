"""Every ``sh`` block of the README and of the pages in docs/ runs, in bash and
dash (and zsh where it is installed), against the emulator, under ``set -e``: the
docs cannot rot. And the recipes' claims hold: the habits they warn about do fail
the way they say. ``console`` blocks show what a person types, and are not run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

#: What this checks is the same on every Python: the oldest-Python pass leaves it out.
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
#: The pages whose sh blocks run: the README and every page of docs/.
PAGES: List[Path] = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: (page, block): every sh block, with the page it is on (relative to the repository).
BLOCKS: List[Tuple[str, str]] = [
    (page.relative_to(ROOT).as_posix(), block) for page in PAGES
    for block in re.findall(r"^```sh\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M)]
SHELLS = ("bash", "dash", "zsh")


def _block_id(where_block: Tuple[str, str]) -> str:
    where, block = where_block
    return f"{where}:{block.splitlines()[0][:40].rstrip()}"


@pytest.fixture(scope="module")
def readme_emulator():
    from imdsctl.emulator import Emulator

    with Emulator(throttle=False) as imds:
        yield imds


def _env(imds, tmp_path: Path, **extra: str) -> Dict[str, str]:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700, exist_ok=True)
    return {**extra, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
            "IMDSCTL_ENDPOINT": imds.url, "IMDSCTL_CACHE_DIR": str(cache), "NO_COLOR": "1",
            "LANG": os.environ.get("LANG", "C.UTF-8")}


def test_the_readme_and_the_docs_have_scripts():
    assert len(BLOCKS) >= 5
    assert "README.md" in {where for where, _ in BLOCKS}


def _netns():
    from imdsctl.emulator.linklocal import netns

    return netns


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("where_block", BLOCKS, ids=_block_id)
def test_every_readme_script_runs(readme_emulator, tmp_path, shell, where_block, request):
    _, block = where_block
    # A block that installs the zipapp downloads a build of this tree (once per session) from a
    # loopback server standing in for the release: IMDSCTL_PYZ_URL, its .sha256 beside it.
    extra = {"IMDSCTL_PYZ_URL": request.getfixturevalue("pyz_url")} if "IMDSCTL_PYZ_URL" in block else {}
    if not shutil.which(shell):
        pytest.skip(f"{shell} is not installed")
    if "--link-local" in block:
        reason = _netns().unavailable()
        if reason:
            pytest.skip(f"no private network namespace here: {reason}")
    for tool in re.findall(r"^\s*(curl|openssl)\b", block, re.M):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    done = subprocess.run([shell, "-c", "set -e\n" + block], cwd=tmp_path,
                          env=_env(readme_emulator, tmp_path, **extra), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, (done.stdout, done.stderr)


def _sh(script: str, imds, tmp_path: Path, shell: str = "bash") -> subprocess.CompletedProcess:
    return subprocess.run([shell, "-c", script], cwd=tmp_path, env=_env(imds, tmp_path),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_eval_of_a_failing_substitution_goes_on_and_the_recipe_stops(readme_emulator, tmp_path, shell):
    if not shutil.which(shell):
        pytest.skip(f"{shell} is not installed")
    habit = _sh('set -eu; eval "$(imdsctl get -o env compute/vmId compute/nope)"; echo went on',
                readme_emulator, tmp_path, shell)
    assert habit.returncode == 0 and "went on" in habit.stdout  # the pitfall the README warns about
    recipe = _sh('set -eu; vars=$(imdsctl get -o env compute/vmId compute/nope); eval "$vars"; echo went on',
                 readme_emulator, tmp_path, shell)
    assert recipe.returncode == 3 and "went on" not in recipe.stdout
    assert recipe.stderr.startswith("imdsctl: IMDS has no compute/nope")


def test_read_in_a_pipeline_loses_the_values_in_bash(readme_emulator, tmp_path):
    done = _sh("imdsctl compute vm-id location -o tsv | read -r a b; echo \"[$a][$b]\"",
               readme_emulator, tmp_path)
    assert done.stdout == "[][]\n"


def test_an_empty_tsv_field_shifts_the_next_under_a_tab_ifs(readme_emulator, tmp_path):
    """evictionPolicy is missing at api-version 2019-06-01: an empty field, which a tab IFS
    collapses (a tab is IFS white space), so location lands in the wrong variable."""
    done = _sh("IFS=$(printf '\\t') read -r a b c <<EOF\n"
               "$(imdsctl compute vm-id eviction-policy location -o tsv --allow-missing "
               "--api-version 2019-06-01)\nEOF\necho \"[$b][$c]\"", readme_emulator, tmp_path)
    assert done.stdout == "[westeurope][]\n", (done.stdout, done.stderr)
