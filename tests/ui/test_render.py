"""The renderer: every format, --query, defaults, env quoting."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
import yaml

from imdsctl.result import Result
from imdsctl.ui.render import FORMATS, compile_query, env_name, render, shell_quote

DOC = {
    "compute": {
        "location": "westeurope",
        "tagsList": [{"name": "env", "value": "prod"}],
        "zone": "",
    },
    "network": {"interface": [{"macAddress": "000D3A1B2C3D"}]},
}


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def out(value, fmt=None, query=None, stream=None, **kw) -> str:
    stream = stream if stream is not None else io.StringIO()
    render(value, fmt, compile_query(query) if query else None, stream=stream, **kw)
    return stream.getvalue()


def test_scalar_prints_bare_with_one_newline():
    assert out("westeurope") == "westeurope\n"
    assert out("") == "\n"
    assert out("a\n") == "a\n"


def test_container_defaults_to_json_when_piped_and_table_on_a_terminal():
    assert json.loads(out(DOC)) == DOC
    table = out(DOC, stream=Tty())
    assert "compute.location" in table and "westeurope" in table
    assert "\x1b[" not in table, "NO_COLOR is set by the test guard"


def test_json():
    assert out(DOC, "json") == json.dumps(DOC, indent=2) + "\n"
    assert out("x", "json") == '"x"\n'


def test_jsonc_is_plain_json_when_not_a_terminal():
    assert out(DOC, "jsonc") == out(DOC, "json")


def test_jsonc_colours_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "xterm-256color")
    text = out(DOC, "jsonc", stream=Tty())
    assert "\x1b[" in text
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in out(DOC, "jsonc", stream=Tty())


def test_yaml_round_trips_strings_that_look_like_other_types():
    value = {"a": "true", "b": "0", "c": "null", "d": "k:v;x", "e": ""}
    assert yaml.safe_load(out(value, "yaml")) == value


def test_table_list_of_objects_has_columns():
    rows = [{"name": "env", "value": "prod", "nested": {"x": "1"}},
            {"name": "team", "value": "web", "list": ["a", "b"]}]
    text = out(rows, "table")
    header = text.splitlines()[0]
    assert header.split() == ["name", "value", "list"]
    assert "a, b" in text and "nested" not in text


def test_table_list_of_scalars_and_scalar():
    header, rule, *rows = out(["2017-04-02", "2025-04-07"], "table").split()
    # rich 14 rules the header as wide as the values; 13 (the floor) adds the column's padding
    assert (header, rows) == ("Result", ["2017-04-02", "2025-04-07"]) and rule in ("─" * 10, "─" * 12)
    assert out("x", "table") == "x\n"


def test_tsv_follows_az_rules():
    assert out("x", "tsv") == "x\n"
    assert out(["a", "b"], "tsv") == "a\nb\n"
    assert out({"a": "1", "b": {"c": "2"}, "d": "3"}, "tsv") == "1\t3\n"
    assert out([{"name": "env", "value": "prod"}, {"name": "t", "value": "w"}], "tsv") == \
        "env\tprod\nt\tw\n"
    assert out({"n": 3, "b": True, "z": None}, "tsv") == "3\ttrue\t\n"


def test_text_flattens_containers():
    assert out(DOC, "text") == (
        "compute.location\twesteurope\n"
        "compute.tagsList[0].name\tenv\n"
        "compute.tagsList[0].value\tprod\n"
        "compute.zone\t\n"
        "network.interface[0].macAddress\t000D3A1B2C3D\n"
    )
    assert out(["a", "b"], "text") == "a\nb\n"


def test_none_prints_nothing():
    assert out(DOC, "none") == ""


def test_every_format_ends_in_exactly_one_newline_and_no_cr():
    for fmt in FORMATS:
        text = out(DOC, fmt)
        if fmt == "none":
            assert text == ""
            continue
        assert text.endswith("\n") and not text.endswith("\n\n"), fmt
        assert "\r" not in text


def test_query_runs_before_the_format():
    assert out(DOC, query="compute.location") == "westeurope\n"
    assert out(DOC, "json", query="compute.tagsList[].name") == '[\n  "env"\n]\n'
    assert out(DOC, "tsv", query="compute.tagsList[0]") == "env\tprod\n"


def test_query_with_no_match_prints_an_empty_line_as_text_and_null_as_json():
    assert out(DOC, query="compute.nothing") == "\n"
    assert out(DOC, "json", query="compute.nothing") == "null\n"


def test_bad_query_raises_a_readable_value_error():
    with pytest.raises(ValueError, match="invalid JMESPath query"):
        compile_query("compute.[")


@pytest.mark.parametrize("path,name", [
    ("compute/vmId", "IMDS_COMPUTE_VMID"),
    ("compute.storageProfile.dataDisks[0].lun", "IMDS_COMPUTE_STORAGEPROFILE_DATADISKS_0_LUN"),
    ("network/interface/0/ipv4/ipAddress/0/publicIpAddress",
     "IMDS_NETWORK_INTERFACE_0_IPV4_IPADDRESS_0_PUBLICIPADDRESS"),
])
def test_env_names(path, name):
    assert env_name(path) == name


def test_env_scalar_and_object_names():
    assert out(Result("x", path="compute/vmId"), "env") == "IMDS_COMPUTE_VMID='x'\n"
    assert out({"compute/vmId": "x", "compute/location": "y"}, "env", env_prefix="VM_") == \
        "VM_COMPUTE_VMID='x'\nVM_COMPUTE_LOCATION='y'\n"


HOSTILE = ["it's", 'say "hi"', "$(touch /tmp/imdsctl-pwned)", "`id`", "a\nb", "line\nX=injected",
           "back\\slash", "'", "''", "$HOME", "*", "tab\there", "é ü 漢"]


@pytest.mark.parametrize("shell", ["bash", "dash", "sh"])
def test_env_is_safe_to_eval(shell, tmp_path):
    import shutil

    if shutil.which(shell) is None:
        pytest.skip(f"{shell} not installed")
    value = {f"k{i}": v for i, v in enumerate(HOSTILE)}
    script = out(value, "env")
    for i in range(len(HOSTILE)):
        script += f'printf "%s\\0" "$IMDS_K{i}"\n'
    marker = tmp_path / "pwned"
    result = subprocess.run([shell, "-c", f"eval \"$(cat)\"; if test -e {marker}; then echo PWNED; fi"],
                            input=script.replace("/tmp/imdsctl-pwned", str(marker)),
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\0")[:-1] == [v.replace("/tmp/imdsctl-pwned", str(marker))
                                              for v in HOSTILE]
    assert not marker.exists()


def test_shell_quote():
    assert shell_quote("a'b") == "'a'\"'\"'b'"


def test_spinner_is_silent_unless_stderr_is_a_terminal(capsys):
    from imdsctl.ui.terminal import spinner

    with spinner("waiting for IMDS"):
        pass
    assert capsys.readouterr().err == ""


def test_table_never_wraps_a_column_of_single_words(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    guid = "C7061BAC-AFDC-4513-B24B-AA5F13A16123"
    rows = [{"EventId": guid, "Description": "Virtual machine is being paused because of a "
                                             "memory-preserving Live Migration operation."}]
    text = out(rows, "table", stream=Tty())
    assert guid in text
    assert max(len(line) for line in text.splitlines()) <= 60
