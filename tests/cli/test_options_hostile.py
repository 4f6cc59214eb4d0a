"""Options that would pass validation and fail later are usage errors at parse
time: numbers that are not finite or absurdly large, and a --prefix that does
not start shell variable names (eval would run the rest)."""

from __future__ import annotations

import os
import subprocess

import pytest

from imdsctl import fastpath
from imdsctl.emulator import load_profile
from imdsctl.ui.render import check_env_prefix, render
from tests.lib.helpers import ok

DOC = load_profile("linux-2025").instance


@pytest.mark.parametrize("args", [
    *(("events", "watch", "--interval", v) for v in ("nan", "inf", "-inf", "1e308")),
    *(("events", "watch", "--hook-timeout", v, "--exec", "true") for v in ("nan", "inf", "1e308")),
    *(("emulator", "serve", "--port", "0", "--attested-validity", v) for v in ("nan", "inf", "1e308")),
    *(("emulator", "serve", "--port", "0", "--events-time-factor", v) for v in ("nan", "inf", "1e308")),
    *(("compute", "vm-id", "--timeout", v) for v in ("nan", "inf")),
    *(("emulate", "--events-time-factor", v, "--", "true") for v in ("nan", "1e308")),
], ids=" ".join)
def test_a_number_that_is_not_finite_or_absurd_is_a_usage_error(run, args, monkeypatch):
    from imdsctl.emulator import run as running

    monkeypatch.setattr(running, "wait_for_signal", lambda: None)  # a serve that got through stops
    result = ok(run(*args), 2)
    assert result.stdout == "" and len(result.stderr.splitlines()) == 2
    assert "Invalid value" in result.stderr


def test_the_ranges_still_take_sensible_values(run, imds_emulator):
    ok(run("events", "watch", "--once", "--interval", "0.5", "--hook-timeout", "3600", "-o", "none",
           "--endpoint", imds_emulator.url))


# -- --prefix ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["$(id)", "`id`", "A;B", "1A_", "A B", "A-B", "A=B", "\u00e9T_", "A\n",
                                    "A$x"])
def test_a_prefix_that_is_not_a_shell_name_is_a_usage_error(run, imds_emulator, prefix):
    result = ok(run("get", "-o", "env", "--prefix", prefix, "compute/vmId",
                    "--endpoint", imds_emulator.url), 2)
    assert result.stdout == "" and "--prefix" in result.stderr


@pytest.mark.parametrize("prefix", ["IMDS_", "VM", "_", "a1_", ""])
def test_a_prefix_that_is_a_shell_name_is_used(run, imds_emulator, prefix):
    result = ok(run("get", "-o", "env", "--prefix", prefix, "compute/vmId", "--endpoint", imds_emulator.url))
    assert result.stdout.startswith(f"{prefix}COMPUTE_VMID='")


def test_eval_never_runs_what_a_prefix_held(tmp_path):
    """What a shell makes of the env lines: a bad prefix is refused, a good one evaluates to data."""
    from io import StringIO

    with pytest.raises(ValueError):
        check_env_prefix("$(touch pwned)")
    out = StringIO()
    render({"a": "$(touch pwned)"}, "env", env_prefix="OK_", stream=out)
    script = f"eval \"$(cat <<'EOF'\n{out.getvalue()}EOF\n)\"; test \"$OK_A\" = '$(touch pwned)'"
    subprocess.run(["sh", "-c", script], cwd=tmp_path, check=True)
    assert not (tmp_path / "pwned").exists()
    assert check_env_prefix("VM_") == "VM_"


def test_the_fast_path_leaves_a_bad_prefix_to_the_cli(run, imds_emulator, monkeypatch):
    ok(run("get", "--max-age", "60", "--endpoint", imds_emulator.url))  # a snapshot
    argv = ["compute", "vm-id", "--max-age", "60", "--endpoint", imds_emulator.url, "-o", "env",
            "--prefix", "$(id)"]
    assert fastpath.answer(argv, os.environ) is None
    result = ok(run(*argv), 2)
    assert "--prefix" in result.stderr


# -- --query: what a query makes must be what an output can hold -----------------------------------


@pytest.mark.parametrize("query", ["`1e999`", "sum(`[1e308, 1e308]`)", 'to_number(`"1e999"`)', '`"\\ud800"`',
                                   "`" + "[" * 3000 + "]" * 3000 + "`"])
@pytest.mark.parametrize("fmt", ["json", "text", "env"])
def test_a_query_that_makes_what_no_output_holds_is_a_usage_error(run, imds_emulator, query, fmt):
    result = ok(run("get", "-o", fmt, "-q", query, "--endpoint", imds_emulator.url), 2)
    assert result.stdout == "" and len(result.stderr.splitlines()) == 2
