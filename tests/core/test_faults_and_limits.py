"""Environment faults, non-regular files, long names, size bombs and live-writer detection."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mosaic.core.atomic import NAME_MAX, atomic_write_bytes, is_temp_file, sweep_temp_files, temp_path_for
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import (
    IndexFileError,
    LabelFormatError,
    ManifestError,
    MosaicError,
    ResourceLimitError,
    StorageError,
    TrackFormatError,
)
from mosaic.core.indexes import TRACKS_INDEX, read_index, upsert_index

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_hang():
    """Fail (instead of hanging forever) when a call blocks for more than 20 s."""

    def _alarm(signum, frame):
        raise TimeoutError("call blocked: a reader opened a FIFO")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _run_limited(code: str, mem_bytes: int = 1536 * 1024**2) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter under an address-space limit; it prints the outcome."""
    pre = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({mem_bytes}, {mem_bytes}))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("MOSAIC_MAX_ALLOC_BYTES", None)
    return subprocess.run(
        [sys.executable, "-c", pre + textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120
    )


# ------------------------------------------------------------------------------------------------- long names
@pytest.mark.parametrize("name", ["a" * 120 + "__" + "b" * 120 + ".parquet", "鱼" * 83 + ".npz", "x" * 255])
def test_temp_names_fit_whatever_the_target(tmp_path, name):
    target = tmp_path / name
    tmp = temp_path_for(target)
    assert len(tmp.name.encode("utf-8")) <= NAME_MAX and is_temp_file(tmp) and tmp.parent == tmp_path
    atomic_write_bytes(target, b"data")
    assert target.read_bytes() == b"data" and [p.name for p in tmp_path.iterdir()] == [name]


def test_target_name_too_long_is_a_named_error(tmp_path):
    with pytest.raises(StorageError, match="ENAMETOOLONG") as ei:
        atomic_write_bytes(tmp_path / ("x" * 300), b"data")
    assert "x" * 50 in str(ei.value) and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------- temp-file liveness
def _dead_pid() -> int:
    return int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    )


def test_sweep_keeps_a_live_writer_of_another_pid_namespace(tmp_path):
    """A writer whose PID is not visible here (another container) holds its lock: its temp file survives."""
    ds = DatasetCore.create(tmp_path / "d")
    target = ds.get_root("tracks") / "g__s.parquet"
    dead = _dead_pid()
    code = textwrap.dedent(f"""
        import os, sys
        os.getpid = lambda: {dead}  # the PID this writer has in its own namespace: not alive here
        from mosaic.core.atomic import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            tmp.write_bytes(b"half")
            print(tmp, flush=True)
            sys.stdin.readline()
            tmp.write_bytes(b"complete")
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        tmp = Path(proc.stdout.readline().strip())
        assert tmp.exists() and f"-{dead}-" in tmp.name
        assert sweep_temp_files(ds.folder) == [] and ds.clean_temp_files() == []
        assert tmp.exists()
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(60) == 0
    finally:
        proc.kill()
    assert target.read_bytes() == b"complete" and not tmp.exists()


def test_sweep_removes_the_temp_file_of_a_killed_writer(tmp_path):
    ds = DatasetCore.create(tmp_path / "d")
    target = ds.get_root("tracks") / "g__s.parquet"
    code = textwrap.dedent(f"""
        import sys
        from mosaic.core.atomic import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            tmp.write_bytes(b"half")
            print(tmp, flush=True)
            sys.stdin.readline()
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    tmp = Path(proc.stdout.readline().strip())
    assert sweep_temp_files(ds.folder) == []  # alive and locked
    proc.kill()
    proc.wait(30)
    lock = tmp.with_name(tmp.name + ".lock")
    assert tmp.exists() and lock.exists()
    assert sweep_temp_files(ds.folder) == [tmp] and not tmp.exists() and not lock.exists()
    orphan = ds.get_root("tracks") / ".x.parquet.tmp-1-deadbeef.lock"  # killed between its lock file and temp file
    orphan.write_text("")
    assert sweep_temp_files(ds.folder) == [] and not orphan.exists()


def test_writer_lock_does_not_conflict_with_a_library_that_locks_its_file(tmp_path):
    """HDF5 locks the file it writes (flock); the writer's own lock sits on a separate file."""
    import fcntl

    from mosaic.core.atomic import atomic_path

    with atomic_path(tmp_path / "x.h5") as tmp:
        fd = os.open(tmp, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what h5py does on create
        finally:
            os.close(fd)
        tmp.write_bytes(b"ok")
    assert (tmp_path / "x.h5").read_bytes() == b"ok" and [p.name for p in tmp_path.iterdir()] == ["x.h5"]


# ------------------------------------------------------------------------------------------------- non-regular files
def test_readers_refuse_a_fifo_without_hanging(tmp_path, no_hang):
    from mosaic.labels.io import read_label_npz
    from mosaic.media.errors import VideoReadError
    from mosaic.media.probe import open_capture
    from mosaic.tracks.io import read_tracks, read_tracks_meta

    fifo = tmp_path / "x.parquet"
    os.mkfifo(fifo)
    for call, err in (
        (read_tracks, TrackFormatError),
        (read_tracks_meta, TrackFormatError),
        (read_label_npz, LabelFormatError),
        (open_capture, VideoReadError),
        (lambda p: read_index(p, TRACKS_INDEX), IndexFileError),
    ):
        with pytest.raises(err, match="FIFO") as ei:
            call(fifo)
        assert str(fifo) in str(ei.value)
    manifest = tmp_path / "m" / "dataset.yaml"
    manifest.parent.mkdir()
    os.mkfifo(manifest)
    with pytest.raises(ManifestError, match="FIFO"):
        DatasetCore.open(manifest.parent)


# ------------------------------------------------------------------------------------------------- environment faults
def _fail_on(monkeypatch, func_name: str, code: int, when) -> None:
    real = getattr(os, func_name)

    def fake(*args, **kwargs):
        if when(*args):
            raise OSError(code, os.strerror(code), str(args[-1] if func_name == "replace" else args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(os, func_name, fake)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT])
def test_write_faults_are_named(tmp_path, monkeypatch, code):
    target = tmp_path / "d" / "out.json"
    _fail_on(monkeypatch, "replace", code, lambda src, dst: str(dst) == str(target))
    with pytest.raises(StorageError) as ei:
        atomic_write_bytes(target, b"x")
    assert str(target) in str(ei.value) and errno.errorcode[code] in str(ei.value)
    assert ei.value.errno == code and list(target.parent.iterdir()) == []  # no temp file left


def test_fault_inside_the_write_block_is_named(tmp_path):
    from mosaic.core.atomic import atomic_path

    with pytest.raises(StorageError, match="ENOSPC"), atomic_path(tmp_path / "a.parquet"):
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "b.parquet"):  # a reading fault stays what it is
        raise FileNotFoundError(errno.ENOENT, "input gone")


def test_unopenable_lock_file_is_named(tmp_path, monkeypatch):
    idx = tmp_path / "d" / "index.csv"
    _fail_on(monkeypatch, "open", errno.EACCES, lambda p, *a: str(p).endswith(".index.csv.lock"))
    with pytest.raises(StorageError, match="EACCES") as ei:
        upsert_index(idx, [], TRACKS_INDEX)
    assert ".index.csv.lock" in str(ei.value)


def test_lock_file_of_another_user_is_still_usable(tmp_path):
    """The lock is taken on a read-only descriptor: a lock file we may not write is fine."""
    idx = tmp_path / "index.csv"
    lock = tmp_path / ".index.csv.lock"
    lock.write_text("")
    lock.chmod(0o444)
    row = {c: "1" for c in TRACKS_INDEX.columns}
    out = upsert_index(idx, [row], TRACKS_INDEX)
    assert len(out) == 1 and len(read_index(idx, TRACKS_INDEX)) == 1


def test_unreadable_manifest_is_named(tmp_path, monkeypatch):
    ds = DatasetCore.create(tmp_path / "d")
    real = Path.read_text

    def fake(self, *a, **k):
        if self.name == "dataset.yaml":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", fake)
    with pytest.raises(ManifestError, match="EACCES") as ei:
        DatasetCore.open(ds.folder)
    assert "dataset.yaml" in str(ei.value)


def test_unreadable_video_and_model_files_are_named(tmp_path, monkeypatch):
    from mosaic.media.errors import VideoReadError
    from mosaic.media.probe import open_capture

    video = tmp_path / "v.mp4"
    video.write_bytes(b"\x00" * 64)
    _fail_on(monkeypatch, "open", errno.EACCES, lambda p, *a: str(p) == str(video))
    with pytest.raises(VideoReadError, match="EACCES") as ei:
        open_capture(video)
    assert str(video) in str(ei.value)


# ------------------------------------------------------------------------------------------------- size bombs
def test_yaml_alias_bomb_refused_quickly_under_a_memory_limit(tmp_path):
    lines = ["name: x", "meta:", "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 12):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "dataset.yaml").write_text("\n".join(lines) + "\n")
    res = _run_limited(f"""
        from mosaic.core.dataset import DatasetCore
        from mosaic.core.errors import ManifestError
        try:
            DatasetCore.open({str(folder)!r})
        except ManifestError as exc:
            print("NAMED", exc)
    """)
    assert res.returncode == 0 and res.stdout.startswith("NAMED") and "alias" in res.stdout, res.stderr[-2000:]
    # anchors are refused too (a manifest needs none), with the file named
    (folder / "dataset.yaml").write_text("name: &n x\nversion: *n\n")
    with pytest.raises(ManifestError, match="dataset.yaml"):
        DatasetCore.open(folder)


def _npz_with_header(path: Path, name: str, shape: tuple, data: bytes) -> Path:
    """An .npz whose member declares ``shape`` (float64) but holds ``data``."""
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{name}.npy", buf.getvalue() + data)
    return path


def test_label_npz_claiming_a_huge_shape_refused_before_allocating(tmp_path):
    bomb = _npz_with_header(tmp_path / "g__s.npz", "labels", (10**10,), b"\x00" * 3000)
    assert bomb.stat().st_size < 4000
    res = _run_limited(f"""
        from mosaic.labels.io import read_label_npz
        from mosaic.core.errors import MosaicError
        try:
            read_label_npz({str(bomb)!r}, group="g", sequence="s")
        except MosaicError as exc:
            print("NAMED", type(exc).__name__, exc)
    """)
    assert res.returncode == 0 and res.stdout.startswith("NAMED LabelFormatError"), res.stderr[-2000:]
    assert "g__s.npz" in res.stdout and "80000000000" in res.stdout


def test_zip_bomb_npz_refused_before_inflating(tmp_path, monkeypatch):
    bomb = tmp_path / "g__s.npz"
    np.savez_compressed(bomb, labels=np.zeros(8 * 1024**2, dtype=np.float64))  # 64 MiB inflated, ~65 KiB on disk
    assert bomb.stat().st_size < 200_000
    monkeypatch.setenv("MOSAIC_MAX_ALLOC_BYTES", str(16 * 1024**2))
    from mosaic.core.limits import check_npz
    from mosaic.labels.io import read_label_npz

    with pytest.raises(LabelFormatError, match="more memory than allowed") as ei:
        read_label_npz(bomb, group="g", sequence="s")
    assert "g__s.npz" in str(ei.value)
    monkeypatch.setenv("MOSAIC_MAX_ALLOC_BYTES", str(128 * 1024**2))
    assert check_npz(bomb) == {"labels": ((8 * 1024**2,), "<f8")}


def test_sparse_frames_do_not_allocate_a_dense_grid(tmp_path):
    res = _run_limited(
        """
        import numpy as np
        from mosaic.core.errors import ResourceLimitError
        from mosaic.features.grid import Grid
        try:
            Grid.from_long(np.array([0, 10**9, 0, 10**9]), np.array([0, 0, 1, 1]))
        except ResourceLimitError as exc:
            print("NAMED", exc)
        g = Grid.from_long(np.arange(0, 3000, 3), np.zeros(1000, dtype=int))  # gaps, but dense enough
        print(g.T, g.n)
    """,
        mem_bytes=1024**3,
    )
    assert res.returncode == 0 and res.stdout.startswith("NAMED") and "1000000000" in res.stdout, res.stderr[-2000:]
    assert res.stdout.splitlines()[-1] == "2998 1"


def test_oversized_index_refused_before_reading(tmp_path, monkeypatch):
    idx = tmp_path / "index.csv"
    idx.write_text(",".join(TRACKS_INDEX.columns) + "\n" + ",".join(["x" * 5000] * len(TRACKS_INDEX.columns)) + "\n")
    monkeypatch.setenv("MOSAIC_MAX_INDEX_BYTES", "10000")
    with pytest.raises(IndexFileError, match="too large") as ei:
        read_index(idx, TRACKS_INDEX)
    assert str(idx) in str(ei.value)


def test_named_errors_are_mosaic_errors():
    assert issubclass(StorageError, MosaicError) and issubclass(StorageError, OSError)
    assert issubclass(ResourceLimitError, MosaicError)


def test_index_with_a_long_field_reads_back(tmp_path):
    """A field above the csv module's default limit (128 KiB), e.g. a large inputs_json, stays readable."""
    from mosaic.core.indexes import write_index

    row = {c: "x" for c in TRACKS_INDEX.columns}
    row["src_format"] = "y" * 200_000
    write_index(tmp_path / "index.csv", pd.DataFrame([row]), TRACKS_INDEX)
    assert read_index(tmp_path / "index.csv", TRACKS_INDEX)["src_format"].iloc[0] == "y" * 200_000


# ------------------------------------------------------------------------------------------------- long CSV records
def test_record_scan_measures_lines_and_quoted_cells_across_blocks(tmp_path, monkeypatch):
    from mosaic.core import limits

    monkeypatch.setattr(limits, "_SCAN_BLOCK", 7)  # records straddle many blocks
    p = tmp_path / "t.csv"
    p.write_bytes(b"a,b\n" + b"1," + b"9" * 30 + b"\n2,3\n")
    assert limits.check_text_records(p, "t") == 32
    # a quoted cell holding newlines is one record: header + '1,"' + 3 × 10 bytes + '"'
    p.write_bytes(b'a,b\n1,"' + b"xxxxxxxxx\n" * 3 + b'"\n2,3\n')
    assert limits.check_text_records(p, "t") == 34
    # doubled quotes inside a cell keep the parity; no newline at the end of the file
    p.write_bytes(b'a,"he said ""hi""\nthen left"\n1,2')
    assert limits.check_text_records(p, "t") == 28
    monkeypatch.setenv("MOSAIC_MAX_RECORD_BYTES", "28")
    assert limits.check_text_records(p, "t") == 28
    monkeypatch.setenv("MOSAIC_MAX_RECORD_BYTES", "27")
    with pytest.raises(ResourceLimitError, match="t.csv") as ei:
        limits.check_text_records(p, "t", group="g", sequence="s")
    assert "at most 27 bytes" in str(ei.value) and ei.value.group == "g"


def test_record_scan_raises_the_csv_field_limit_to_what_it_checked(tmp_path, monkeypatch):
    import csv

    from mosaic.core import limits

    monkeypatch.setenv("MOSAIC_MAX_RECORD_BYTES", str(400_000))
    old = csv.field_size_limit()
    try:
        csv.field_size_limit(131072)
        p = tmp_path / "t.csv"
        p.write_text("a,b\n1," + "z" * 300_000 + "\n")
        assert limits.check_text_records(p, "t") == 300_002
        assert csv.field_size_limit() == 400_000
        assert len(list(csv.reader(p.open(newline="")))[1][1]) == 300_000
    finally:
        csv.field_size_limit(old)


def test_whole_file_readers_refuse_a_file_beyond_the_budget(tmp_path, monkeypatch):
    from mosaic.core import limits

    monkeypatch.setenv("MOSAIC_MAX_ALLOC_BYTES", str(8 * 1000))
    p = tmp_path / "export.tsv"
    p.write_text("Time\tSubject\n" + "1\ta\n" * 300)  # 1214 bytes > 8000 // 8
    with pytest.raises(ResourceLimitError, match="too large to read at once"):
        limits.check_text_records(p, "BORIS export", whole=True)
    assert limits.check_text_records(p, "BORIS export") == 12


_GIANT_LINE_READERS = {
    "trex_csv": (
        "from mosaic.tracks.converters.trex import convert_csv as f",
        "X,Y,frame\n",
        "f([p], {'fps': 25.0}, group='g', sequence='s')",
    ),
    "generic_csv": (
        "from mosaic.tracks.converters.generic_csv import convert as f",
        "frame,id,x,y\n",
        "f([p], {'fps': 25.0}, group='g', sequence='s')",
    ),
    "sleap_csv": (
        "from mosaic.tracks.converters.sleap_csv import convert_csv as f",
        "track,frame_idx,nose.x,nose.y\n",
        "f([p], {'fps': 25.0}, group='g', sequence='s')",
    ),
    "dlc_csv": (
        "from mosaic.tracks.converters.dlc import read_dlc as f",
        "scorer,s,s\nbodyparts,nose,nose\ncoords,x,y\n",
        "f(p)",
    ),
    "boris": ("from mosaic.labels.boris import read_boris_export as f", "Time\tSubject\tBehavior\tStatus\n", "f(p)"),
    "dlc_collected": (
        "from mosaic.interop.dlc_project import _read_collected as f",
        "scorer,,,s,s\nbodyparts,,,nose,nose\ncoords,,,x,y\n",
        "f(p)",
    ),
}


@pytest.mark.parametrize("reader", sorted(_GIANT_LINE_READERS))
@pytest.mark.parametrize("quoted", [False, True], ids=["line", "quoted_cell"])
def test_a_1gb_line_or_cell_is_a_named_error_under_a_memory_limit(tmp_path, reader, quoted):
    """A header then 1 GB without a record end (sparse: no disk used) is refused while streaming, not parsed."""
    imp, header, call = _GIANT_LINE_READERS[reader]
    p = tmp_path / ("export.tsv" if reader == "boris" else "data.csv")
    with open(p, "wb") as fh:
        fh.write(header.encode() + (b'1,"' + b"a\n" * 1000 if quoted else b"1,"))
        fh.truncate(1024**3)
    res = _run_limited(
        f"""
        from pathlib import Path
        {imp}
        from mosaic.core.errors import MosaicError
        p = Path({str(p)!r})
        try:
            {call}
        except MosaicError as exc:
            print("NAMED", type(exc).__name__, exc)
    """,
        mem_bytes=1024 * 1024**2,
    )
    assert res.returncode == 0 and res.stdout.startswith("NAMED ResourceLimitError"), (res.stdout + res.stderr)[-2000:]
    # BORIS reads its whole (small) export at once: a 1 GB export is refused on its size first
    why = "too large to read at once" if reader == "boris" else "too long to parse"
    assert p.name in res.stdout and why in res.stdout, res.stdout
