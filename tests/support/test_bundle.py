"""Reading a bundle back (diff; replaying it) is bounded before anything is
inflated: at most MAX_MEMBERS members, MAX_MEMBER bytes each, MAX_INFLATED bytes
in all. A bomb, a damaged archive or one imdsctl cannot read is exit 2 for diff,
quickly, never a crash."""

from __future__ import annotations

import io
import json
import struct
import tarfile
import time
import zipfile
import zlib

import pytest

from imdsctl.emulator import load_profile
from imdsctl.support import bundle
from tests.lib.helpers import ok

DOC = json.dumps(load_profile("linux-2025").instance).encode()


def _tar(entries) -> bytes:
    """A tar (not compressed) of (name, bytes) entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:") as packed:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            packed.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _gzip(chunks, repeat: int = 1) -> bytes:
    """A gzip stream of the chunks, the whole sequence ``repeat`` times (fast for a bomb)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    out = [packer.compress(chunk) for _ in range(repeat) for chunk in chunks]
    return b"".join(out) + packer.flush()


def _zip(entries, declared=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as packed:
        for name, data in entries:
            packed.writestr(name, data)
    return buffer.getvalue()


def _diff(run, tmp_path, data: bytes, name: str = "b.tar.gz"):
    (tmp_path / "a.json").write_bytes(DOC)
    (tmp_path / name).write_bytes(data)
    started = time.monotonic()
    result = run("diff", str(tmp_path / "a.json"), str(tmp_path / name))
    return result, time.monotonic() - started


def test_a_gzip_bomb_of_empty_entries_fails_fast(run, tmp_path):
    """The issue's bomb, smaller: empty entries whose headers inflate past the cap
    (two million of them took 53 s and 917 MB before)."""
    header = _tar([("b/empty", b"")])[:512]
    bomb = _gzip([header * 2048], repeat=48)  # 48 MiB of headers in ~100 KB
    assert len(bomb) < 1 << 20
    result, elapsed = _diff(run, tmp_path, bomb)
    ok(result, 2)
    assert "inflates to over 32 MiB" in result.stderr
    assert elapsed < 2, elapsed


def test_too_many_members_before_the_one_asked_for(run, tmp_path):
    entries = [(f"b/file{i}.json", b"{}") for i in range(70)] + [("b/instance.json", DOC)]
    result, _ = _diff(run, tmp_path, _gzip([_tar(entries)]))
    assert ok(result, 2) and "over 64 members" in result.stderr


def test_a_member_too_big(run, tmp_path):
    big = b"{" + b" " * (9 << 20) + b"}"
    result, _ = _diff(run, tmp_path, _gzip([_tar([("b/instance.json", big)])]))
    assert ok(result, 2) and "instance.json is over 8 MiB" in result.stderr


def test_a_zip_with_too_many_members(run, tmp_path):
    entries = [(f"b/file{i}.json", b"{}") for i in range(70)] + [("b/instance.json", DOC)]
    result, _ = _diff(run, tmp_path, _zip(entries), "b.zip")
    assert ok(result, 2) and "over 64 members" in result.stderr


def test_a_zip_whose_members_inflate_too_far(run, tmp_path):
    entries = [(f"b/part{i}", b"\0" * (7 << 20)) for i in range(5)] + [("b/instance.json", DOC)]
    result, _ = _diff(run, tmp_path, _zip(entries), "b.zip")
    assert ok(result, 2) and "inflates to over 32 MiB" in result.stderr


def test_a_zip_whose_end_record_claims_many_members_is_refused_before_reading_them(run, tmp_path):
    data = bytearray(_zip([("b/instance.json", DOC)]))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 60000, 60000)
    result, _ = _diff(run, tmp_path, bytes(data), "b.zip")
    assert ok(result, 2) and "over 64 members" in result.stderr


def _flag_encrypted(data: bytes) -> bytes:
    data = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + offset] |= 1
    return bytes(data)


def _unknown_method(data: bytes) -> bytes:
    data = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.find(signature)
        struct.pack_into("<H", data, at + offset, 99)
    return bytes(data)


def _corrupt_deflate(data: bytes) -> bytes:
    data = bytearray(data)
    at = data.find(b"PK\x03\x04") + 30 + len("b/instance.json")
    data[at:at + 8] = b"\xff" * 8
    return bytes(data)


@pytest.mark.parametrize("damage", [_flag_encrypted, _unknown_method, _corrupt_deflate])
def test_a_zip_imdsctl_cannot_read_is_a_usage_error_not_a_crash(run, tmp_path, damage):
    result, _ = _diff(run, tmp_path, damage(_zip([("b/instance.json", DOC)])), "b.zip")
    ok(result, 2)
    assert "not a readable archive" in result.stderr and len(result.stderr.splitlines()) <= 2


@pytest.mark.parametrize("data", [_gzip([b"not a tar"]), _gzip([_tar([("b/instance.json", DOC)])])[:-30],
                                  _gzip([_tar([("b/instance.json", DOC)])]) + b"trailing"])
def test_a_damaged_tar_gz_is_a_usage_error(run, tmp_path, data):
    result, _ = _diff(run, tmp_path, data)
    assert ok(result, 2) and "readable archive" in result.stderr


def test_real_bundles_are_still_read():
    for fmt in bundle.FORMATS:
        from datetime import datetime, timezone

        data = bundle.archive(fmt, "b", {"instance.json": DOC, "manifest.json": b"{}"},
                              datetime.now(timezone.utc))
        assert bundle.read_member(data, "instance.json") == DOC
        assert bundle.read_member(data, "absent.json") is None
    tar = _tar([("b/other", b"x"), ("b/instance.json", DOC)])
    two_streams = _gzip([tar[:1000]]) + _gzip([tar[1000:]])  # gzip members, as `cat a.gz b.gz` makes
    assert bundle.read_member(two_streams, "instance.json") == DOC
