"""Atomic writes leave the old file or the new one, never half; errors name what is wrong."""

from __future__ import annotations

import pytest

from mosaic.core.atomic import atomic_open, atomic_path, atomic_write_json, atomic_write_text, is_temp_file
from mosaic.core.errors import MosaicError, RootNotSetError
from mosaic.core.run_ids import file_fingerprint, make_run_id


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "out.txt"
    atomic_write_text(p, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(p, "w") as fh:
            fh.write("half of the new")
            raise RuntimeError("interrupted")
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["out.txt"]
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "new.bin") as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("interrupted")
    assert not (tmp_path / "new.bin").exists()
    assert [f.name for f in tmp_path.iterdir()] == ["out.txt"]


def test_temp_names_are_hidden_and_recognised(tmp_path):
    with atomic_path(tmp_path / "x.parquet") as tmp:
        assert tmp.parent == tmp_path and is_temp_file(tmp) and not tmp.name.endswith(".parquet")
        tmp.write_bytes(b"1")
    assert (tmp_path / "x.parquet").read_bytes() == b"1"
    assert not is_temp_file(tmp_path / "x.parquet")


def test_json_and_run_ids_are_canonical(tmp_path):
    import numpy as np

    atomic_write_json(tmp_path / "a.json", {"b": np.int64(2), "a": np.array([1.5])})
    assert (tmp_path / "a.json").read_text() == '{\n  "a": [\n    1.5\n  ],\n  "b": 2\n}\n'
    assert make_run_id({"a": 1, "b": (1, 2)}) == make_run_id({"b": [1, 2], "a": 1})
    assert make_run_id({"a": 1}) != make_run_id({"a": 2})
    assert len(make_run_id({})) == 12
    f = tmp_path / "f.bin"
    f.write_bytes(b"abc")
    g = tmp_path / "g.bin"
    g.write_bytes(b"abc")
    assert file_fingerprint(f) == file_fingerprint(g)
    g.write_bytes(b"abd")
    assert file_fingerprint(f) != file_fingerprint(g)


def test_file_digests_read_in_chunks_equal_the_whole_file_hash(tmp_path):
    import hashlib

    from mosaic.core.run_ids import md5_of_file, sha256_of_file

    data = bytes(range(256)) * 41  # not a multiple of the chunk size
    f = tmp_path / "d.bin"
    f.write_bytes(data)
    assert md5_of_file(f, chunk_size=1000) == hashlib.md5(data).hexdigest()
    assert sha256_of_file(f, chunk_size=1000) == hashlib.sha256(data).hexdigest()
    assert file_fingerprint(f, chunk_size=1000) == hashlib.blake2b(data, digest_size=8).hexdigest()
    e = tmp_path / "e.bin"
    e.write_bytes(b"")
    assert sha256_of_file(e) == hashlib.sha256(b"").hexdigest()


def test_error_message_names_everything():
    e = MosaicError("bad column", path="/x/y.csv", group="g", sequence="s", expected="X", found="Z", hint="fix it")
    msg = str(e)
    for part in ("bad column", "/x/y.csv", "'g'", "'s'", "expected: X", "found: Z", "hint: fix it"):
        assert part in msg
    k = RootNotSetError("root 'x' is not set", path="/d/dataset.yaml")
    assert isinstance(k, KeyError) and str(k).startswith("root 'x'")


def test_sweep_removes_only_temp_files_of_dead_writers(tmp_path):
    import os
    import subprocess
    import sys

    from mosaic import Dataset
    from mosaic.core.atomic import sweep_temp_files, temp_path_for

    ds = Dataset.create(tmp_path / "d")
    out = ds.get_root("tracks") / "g__s.parquet"
    out.write_bytes(b"real output")
    dead = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    )
    left = out.with_name(f".{out.name}.tmp-{dead}-deadbeef")  # a write killed mid-way
    left.write_bytes(b"half")
    mine = temp_path_for(out)  # an in-flight write of this (live) process
    mine.write_bytes(b"in flight")
    hidden = ds.get_root("tracks") / ".gitkeep"
    hidden.write_text("")
    assert sweep_temp_files(tmp_path, dry_run=True) == [left] and left.exists()
    assert ds.clean_temp_files() == [left]
    assert not left.exists() and mine.exists() and out.read_bytes() == b"real output" and hidden.exists()
    assert os.getpid() != dead
