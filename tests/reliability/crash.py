"""Crash-safety harness: run a stage in a subprocess, SIGKILL it at seeded random moments, check the folder.

Used by ``tests/reliability/test_crash.py`` (a few kills, CI) and ``benchmarks/soak.py`` (50+ kills).

A *stage* is one mosaic step driven through the public facade (``mosaic.Dataset``) on a small
demo dataset. The harness:

1. builds a template dataset once (demo simulator + the stage's preconditions, in-process);
2. runs the stage uninterrupted on a copy of it (the *reference*), timing its work phase;
3. on another copy, starts the stage in a subprocess ``n`` times and kills it (SIGKILL) at a
   seeded random moment of its work phase (the worker prints ``READY`` once its imports are
   done, so kills land in the work, not in ``import``); after every kill it checks the folder
   (:func:`check_folder`);
4. reruns the stage uninterrupted and compares the outputs with the reference
   (:func:`snapshot`: content digests, see there for what is compared).

Run a stage by hand: ``python -m tests.reliability.crash STAGE DATASET_DIR``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]

#: keys of JSON files / parquet metadata / index columns whose values legitimately differ between
#: two runs of the same stage (wall-clock times, durations, host facts)
VOLATILE_KEYS = frozenset(
    {
        "finished_at",
        "started_at",
        "created_at",
        "updated_at",
        "timestamp",
        "written_at",
        "mtime_iso",
        "elapsed",
        "elapsed_s",
        "seconds",
        "duration_s",
        "timing",
        "timings",
        "wall_time",
        "time_s",
        "host",
        "pid",
    }
)

# ----------------------------------------------------------------------------- stages


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step the harness can run, kill and check.

    Parameters
    ----------
    name
        Stage name (``python -m tests.reliability.crash NAME DIR`` runs it).
    run
        ``run(ds)`` performs the step through the facade (in the worker process).
    prepare
        ``prepare(ds)`` brings a fresh demo dataset to the step's preconditions (in-process, once).
    roots
        Dataset roots holding the step's outputs (snapshot and compared).
    output_globs
        Glob patterns (relative to the dataset folder) the step's readers use to find outputs;
        a temporary file must never match one.
    volatile
        Extra JSON keys / index columns that differ between runs for this stage.
    videos
        The template dataset needs rendered videos.
    extra_check
        ``extra_check(folder) -> problems``: stage-specific soundness checks (e.g. every frame a
        ``run_info.json`` lists exists).
    warm_start
        Kill runs on a copy of the finished reference (the stage overwrites complete outputs);
        otherwise on a fresh copy (the stage starts from nothing, e.g. resume stages).
    preload
        ``preload()`` runs in the worker before ``READY`` (heavy imports), so kill moments land in
        the stage's work rather than in its imports.
    cli, ready_marker
        Run this command line (``cli(folder) -> argv``) instead of the Python worker; kill
        moments count from the first output line containing ``ready_marker``.
    """

    name: str
    run: Callable[[Any], Any]
    prepare: Callable[[Any], Any]
    roots: tuple[str, ...]
    output_globs: tuple[str, ...]
    volatile: frozenset = frozenset()
    videos: bool = False
    extra_check: Callable[[Path], list[str]] | None = None
    cli: Callable[[Path], list[str]] | None = None
    ready_marker: str = "READY"
    warm_start: bool = False
    preload: Callable[[], Any] | None = None


def _open(folder: str | os.PathLike):
    from mosaic import Dataset

    return Dataset.open(folder)


def ingest_demo(ds) -> None:
    """Index the demo's raw tracks like the ``ingest`` pipeline's default parameters."""
    ds.index_tracks_raw(
        ["tracks_raw/trex"],
        patterns=["*.npz"],
        src_format="trex_npz",
        group_from="parent",
        individual_prefixes=["fish", "id"],
    )
    ds.index_tracks_raw(
        ["tracks_raw/calms21"],
        patterns=["*.npy"],
        src_format="calms21_npy",
        multi_sequences_per_file=True,
        group_from="filename",
    )


def _convert(ds) -> None:
    ds.convert_all_tracks(overwrite=True)


def _convert_resume(ds) -> None:
    ds.convert_all_tracks(overwrite=False)


def _kedro_convert_cli(folder: Path) -> list[str]:
    kedro = Path(sys.executable).with_name("kedro")
    return [str(kedro), "run", "--pipelines", "convert", "--params", f"dataset_dir={folder},convert.overwrite=true"]


STAGES: dict[str, Stage] = {
    # overwrite=True: every run rewrites every file (kills land on replacing existing outputs too)
    "convert": Stage(
        "convert",
        _convert,
        ingest_demo,
        ("tracks",),
        ("tracks/*.parquet", "tracks/index.csv", "tracks/*.json"),
        warm_start=True,
    ),
    # overwrite=False: a rerun resumes (skips written files and must still index them)
    "convert_resume": Stage(
        "convert_resume",
        _convert_resume,
        ingest_demo,
        ("tracks",),
        ("tracks/*.parquet", "tracks/index.csv", "tracks/*.json"),
        volatile=frozenset({"converted", "skipped"}),
    ),
    # the Kedro door: `kedro run --pipelines convert` (kill moments count from its first dataset load)
    "convert_kedro": Stage(
        "convert_kedro",
        _convert,
        ingest_demo,
        ("tracks",),
        ("tracks/*.parquet", "tracks/index.csv", "tracks/*.json"),
        cli=_kedro_convert_cli,
        ready_marker="Loading data from",
        warm_start=True,
    ),
}


def register_stage(stage: Stage) -> Stage:
    """Add a stage (used to plug in label/featurize/sample_frames as they become available)."""
    STAGES[stage.name] = stage
    return stage


# ----------------------------------------------------------------------------- worker side


def worker_main(argv: list[str] | None = None) -> int:
    """Entry point of the subprocess: open the dataset, print READY, run the stage, print DONE."""
    argv = list(sys.argv[1:] if argv is None else argv)
    name, folder = argv[0], argv[1]
    _load_optional_stages()
    stage = STAGES[name]
    ds = _open(folder)
    if stage.preload is not None:
        stage.preload()
    print("READY", flush=True)
    t0 = time.perf_counter()
    stage.run(ds)
    print(f"DONE {time.perf_counter() - t0:.4f}", flush=True)
    return 0


def _load_optional_stages() -> None:
    """Import the stage definitions of domains that exist (labels, features, frames, models)."""
    try:
        from tests.reliability import stages_more  # noqa: F401
    except ImportError:
        pass
    try:
        from tests.reliability import stages_train  # noqa: F401
    except ImportError:
        pass


# ----------------------------------------------------------------------------- driver side


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KEDRO_DISABLE_TELEMETRY="1",
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONHASHSEED="0",
    )
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    return env


class _Run:
    """A started stage process, past its ready marker, with its output drained in the background."""

    def __init__(self, stage: str, folder: Path) -> None:
        import tempfile
        import threading

        _load_optional_stages()
        st = STAGES[stage]
        if st.cli is not None:
            argv, marker = st.cli(folder), st.ready_marker
        else:
            argv, marker = [sys.executable, "-m", "tests.reliability.crash", stage, str(folder)], "READY"
        self.stage = stage
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            argv,
            cwd=PROJECT_DIR,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if st.cli is not None else self.err,
            text=True,
        )
        self.lines: list[str] = []
        for line in self.proc.stdout:
            self.lines.append(line)
            if marker in line:
                break
        else:
            self.proc.wait()
            raise RuntimeError(
                f"stage {stage} did not reach {marker!r} (rc={self.proc.returncode}):\n{self.output()[-4000:]}"
            )
        self.t_ready = time.perf_counter()
        self._drain = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self._drain.start()

    def output(self) -> str:
        self.err.seek(0)
        return "".join(self.lines) + self.err.read()

    def close(self) -> None:
        self._drain.join(timeout=10) if hasattr(self, "_drain") else None
        self.proc.stdout.close()
        self.err.close()


def run_uninterrupted(stage: str, folder: Path, timeout: float = 600.0) -> float:
    """Run ``stage`` to completion in a subprocess; return the seconds from its ready marker to its exit."""
    run = _Run(stage, folder)
    try:
        rc = run.proc.wait(timeout=timeout)
        work = time.perf_counter() - run.t_ready
        if rc != 0:
            raise RuntimeError(f"stage {stage} failed (rc={rc}):\n{run.output()[-4000:]}")
        return work
    finally:
        run.close()


def run_and_kill(stage: str, folder: Path, delay: float) -> bool:
    """Start ``stage``, SIGKILL it ``delay`` seconds after its ready marker; True when it was killed (not finished)."""
    run = _Run(stage, folder)
    try:
        try:
            run.proc.wait(timeout=max(delay - (time.perf_counter() - run.t_ready), 0.0))
        except subprocess.TimeoutExpired:
            os.kill(run.proc.pid, signal.SIGKILL)
        rc = run.proc.wait()
        if rc not in (0, -signal.SIGKILL):
            raise RuntimeError(f"stage {stage} failed by itself (rc={rc}):\n{run.output()[-4000:]}")
        return rc == -signal.SIGKILL
    finally:
        run.close()


# ----------------------------------------------------------------------------- checks


def _is_temp(p: Path) -> bool:
    from mosaic.core.atomic import is_temp_file

    return is_temp_file(p)


def _is_lock(p: Path) -> bool:
    return p.name.startswith(".") and p.name.endswith(".lock")


def read_fully(p: Path) -> None:
    """Read the whole file with the reader of its type; raise when it is incomplete or unreadable."""
    suf = p.suffix.lower()
    if suf == ".parquet":
        import pyarrow.parquet as pq

        pq.read_table(p)
    elif suf == ".npz":
        import numpy as np

        with np.load(p, allow_pickle=True) as z:
            for k in z.files:
                z[k]
    elif suf == ".npy":
        import numpy as np

        np.load(p, allow_pickle=True)
    elif suf in (".png", ".jpg", ".jpeg"):
        from PIL import Image

        with Image.open(p) as im:
            im.load()
    elif suf == ".json":
        json.loads(p.read_text(encoding="utf-8"))
    elif suf in (".yaml", ".yml"):
        import yaml

        yaml.safe_load(p.read_text(encoding="utf-8"))
    elif suf in (".csv", ".tsv"):
        import pandas as pd

        if p.name == "index.csv":
            from mosaic.core.indexes import read_index

            read_index(p)
        else:
            pd.read_csv(p, sep="\t" if suf == ".tsv" else ",")
    elif suf in (".pkl", ".pickle", ".joblib"):
        import joblib

        joblib.load(p)
    # other types (videos, logs) are inputs or opaque: existence is enough


def _match_any(rel: str, globs: Iterable[str]) -> bool:
    from fnmatch import fnmatchcase

    for g in globs:
        # pathlib's glob: '*' does not cross '/', hidden files match
        if Path(rel).match(g) or (fnmatchcase(rel, g) and rel.count("/") == g.count("/")):
            return True
    return False


def check_folder(folder: Path, stage: Stage) -> list[str]:
    """Every problem found in ``folder`` after a crash (empty list: the folder is sound).

    * every parquet/npz/npy/png/json/yaml/csv file (temporary and lock files excepted) reads fully;
    * no temporary file (``mosaic.core.atomic.is_temp_file``) matches a stage output glob or
      is listed in any index, and ``pathlib`` globbing for outputs never returns one;
    * every row of every ``index.csv`` points (path columns) to an existing, non-temporary file
      that reads fully.
    """
    from mosaic.core.indexes import is_path_column, read_index

    problems: list[str] = []
    ds = _open(folder)
    files = [p for p in folder.rglob("*") if p.is_file()]
    readable: dict[Path, bool] = {}
    for p in files:
        rel = p.relative_to(folder).as_posix()
        if _is_lock(p):
            continue
        if _is_temp(p):
            if _match_any(rel, stage.output_globs):
                problems.append(f"temporary file matches an output glob: {rel}")
            continue
        try:
            read_fully(p)
            readable[p.resolve()] = True
        except Exception as exc:
            readable[p.resolve()] = False
            problems.append(f"unreadable file {rel}: {type(exc).__name__}: {str(exc)[:200]}")
    for g in stage.output_globs:
        for p in folder.glob(g):
            if _is_temp(p):
                problems.append(f"glob {g!r} returns temporary file {p.relative_to(folder)}")
    for idx in ds.index_files():
        try:
            df = read_index(idx)
        except Exception as exc:
            problems.append(f"unreadable index {idx}: {exc}")
            continue
        for c in [c for c in df.columns if is_path_column(c)]:
            for i, v in enumerate(df[c].astype(str)):
                if not v or v == "nan":
                    continue
                p = ds.resolve_path(v)
                if _is_temp(p):
                    problems.append(f"{idx.relative_to(folder)} row {i} {c} lists a temporary file: {v}")
                elif not p.exists():
                    problems.append(f"{idx.relative_to(folder)} row {i} {c} points to a missing file: {v}")
                elif p.is_file() and not readable.get(p.resolve(), True):
                    problems.append(f"{idx.relative_to(folder)} row {i} {c} points to an unreadable file: {v}")
    if stage.extra_check is not None:
        problems.extend(stage.extra_check(folder))
    return problems


def temp_files(folder: Path) -> list[str]:
    """Temporary files left in ``folder`` (a kill mid-write leaves them; they are not outputs)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and _is_temp(p))


# ----------------------------------------------------------------------------- snapshot


def _strip(obj: Any, volatile: frozenset) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v, volatile) for k, v in sorted(obj.items()) if k not in volatile}
    if isinstance(obj, list):
        return [_strip(v, volatile) for v in obj]
    return obj


def _digest_frame(df, volatile: frozenset) -> str:
    import pandas as pd

    df = df[[c for c in df.columns if c not in volatile]]
    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def digest_file(p: Path, volatile: frozenset = VOLATILE_KEYS) -> str:
    """A content digest of one output file.

    * parquet: column names, dtypes and values (``pandas.util.hash_pandas_object``) plus the
      ``mosaic`` schema metadata with volatile keys removed — not the bytes (pyarrow's
      ``created_by`` and key order may differ);
    * npz/npy: per member name, dtype, shape and bytes (pickled objects: their repr);
    * json/yaml: the parsed content with volatile keys removed;
    * csv: the parsed table sorted by all columns, volatile columns removed (row order of
      an index is not a contract; its content is);
    * png/jpg: decoded pixels, size and mode;
    * anything else: the bytes.
    """
    suf = p.suffix.lower()
    h = hashlib.sha256()
    if suf == ".parquet":
        import pyarrow.parquet as pq

        t = pq.read_table(p)
        md = {k.decode(): v.decode("utf-8", "replace") for k, v in (t.schema.metadata or {}).items() if k != b"pandas"}
        for k, v in list(md.items()):
            try:
                md[k] = _strip(json.loads(v), volatile)
            except ValueError:
                pass
        h.update(json.dumps(md, sort_keys=True, default=str).encode())
        h.update(_digest_frame(t.to_pandas(), volatile).encode())
    elif suf in (".npz", ".npy"):
        import numpy as np

        def _arr(name: str, a) -> None:
            h.update(f"{name}|{a.dtype}|{a.shape}".encode())
            h.update(repr(a.tolist()).encode() if a.dtype == object else np.ascontiguousarray(a).tobytes())

        if suf == ".npz":
            with np.load(p, allow_pickle=True) as z:
                for k in sorted(z.files):
                    _arr(k, z[k])
        else:
            _arr("", np.load(p, allow_pickle=True))
    elif suf == ".json":
        h.update(
            json.dumps(
                _strip(json.loads(p.read_text(encoding="utf-8")), volatile), sort_keys=True, default=str
            ).encode()
        )
    elif suf in (".yaml", ".yml"):
        import yaml

        h.update(
            json.dumps(
                _strip(yaml.safe_load(p.read_text(encoding="utf-8")), volatile), sort_keys=True, default=str
            ).encode()
        )
    elif suf in (".csv", ".tsv"):
        import pandas as pd

        df = pd.read_csv(p, sep="\t" if suf == ".tsv" else ",", dtype=str, keep_default_na=False)
        df = df[[c for c in df.columns if c not in volatile]]
        df = df.sort_values(list(df.columns)).reset_index(drop=True) if len(df.columns) else df
        h.update(df.to_csv(index=False).encode())
    elif suf in (".png", ".jpg", ".jpeg"):
        from PIL import Image

        with Image.open(p) as im:
            h.update(f"{im.size}|{im.mode}".encode())
            h.update(im.tobytes())
    else:
        h.update(p.read_bytes())
    return h.hexdigest()


def snapshot(folder: Path, roots: Iterable[str], volatile: frozenset = frozenset()) -> dict[str, str]:
    """``{relative path: digest}`` of every output file under ``roots`` (temp and lock files excluded)."""
    ds = _open(folder)
    vol = VOLATILE_KEYS | volatile
    out = {}
    for r in roots:
        root = ds.get_root(r)
        if not root.exists():
            continue
        for p in sorted(root.rglob("*")):
            if p.is_file() and not _is_temp(p) and not _is_lock(p):
                out[p.relative_to(folder).as_posix()] = digest_file(p, vol)
    return out


def hash_tree(folder: Path) -> dict[str, str]:
    """Raw byte digests of every file under ``folder`` (for 'nothing changed' checks)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not _is_lock(p)
    }


# ----------------------------------------------------------------------------- templates


def build_template(folder: Path, videos: bool = False, seed: int = 0, size: str = "tiny") -> Path:
    """A demo dataset with raw tracks indexed (every stage starts from a copy of it)."""
    from mosaic.demo import make_demo_dataset

    make_demo_dataset(folder, size=size, seed=seed, videos=videos)
    ingest_demo(_open(folder))
    return folder


def prepare_copy(template: Path, dest: Path, stage: Stage) -> Path:
    """Copy ``template`` to ``dest`` and run the stage's preconditions there."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(template, dest)
    stage.prepare(_open(dest))
    return dest


@dataclasses.dataclass
class CrashReport:
    """What one :func:`crash_stage` found."""

    stage: str
    attempts: int = 0
    kills: int = 0  # the process was killed (not finished before the kill moment)
    finished_early: int = 0
    kills_survived: int = 0  # kills after which the folder checked sound
    problems: list[str] = dataclasses.field(default_factory=list)
    temp_files_seen: int = 0
    rerun_equal: bool | None = None
    rows_lost: int = 0  # index rows of the reference missing after the final rerun
    diff: list[str] = dataclasses.field(default_factory=list)
    work_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rerun_equal) and self.rows_lost == 0


def _index_rows(folder: Path, roots: Iterable[str]) -> set[tuple[str, str]]:
    ds = _open(folder)
    rows = set()
    import pandas as pd

    for r in roots:
        root = ds.get_root(r)
        for idx in sorted(root.rglob("index.csv")) if root.exists() else []:
            df = pd.read_csv(idx, dtype=str, keep_default_na=False)
            key = [c for c in ("kind", "feature", "run_id", "method", "group", "sequence") if c in df.columns]
            for rec in df[key].itertuples(index=False):
                rows.add((idx.relative_to(folder).as_posix(), "|".join(rec)))
    return rows


def crash_stage(
    stage_name: str,
    template: Path,
    workdir: Path,
    n_kills: int,
    seed: int = 0,
    reference: dict[str, str] | None = None,
    max_attempts_factor: int = 3,
) -> CrashReport:
    """Kill ``stage_name`` ``n_kills`` times on one copy of ``template``, checking after each; rerun; compare.

    The kill moment is uniform in ``[0, 1.1 × work time]`` after READY (seeded), so most kills
    land while files are being written and some after the last one.
    """
    _load_optional_stages()
    stage = STAGES[stage_name]
    t_start = time.perf_counter()
    rep = CrashReport(stage_name)
    ref_dir = prepare_copy(template, workdir / f"{stage_name}-ref", stage)
    rep.work_seconds = run_uninterrupted(stage_name, ref_dir)
    ref = snapshot(ref_dir, stage.roots, stage.volatile)
    ref_rows = _index_rows(ref_dir, stage.roots)
    if stage.warm_start:  # kill runs that replace a complete earlier run's outputs
        work = workdir / f"{stage_name}-crash"
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(ref_dir, work)
    else:  # kill runs that start from nothing (resume stages)
        work = prepare_copy(template, workdir / f"{stage_name}-crash", stage)
    rng = random.Random(f"{seed}-{stage_name}")
    attempts = 0
    while rep.kills < n_kills and attempts < n_kills * max_attempts_factor:
        attempts += 1
        delay = rng.uniform(0.0, 1.1 * rep.work_seconds)
        killed = run_and_kill(stage_name, work, delay)
        if not killed:
            rep.finished_early += 1
            continue
        rep.kills += 1
        rep.temp_files_seen += len(temp_files(work))
        found = check_folder(work, stage)
        if found:
            rep.problems.extend(f"kill {rep.kills} (t={delay:.3f}s): {x}" for x in found)
        else:
            rep.kills_survived += 1
    rep.attempts = attempts
    run_uninterrupted(stage_name, work)
    found = check_folder(work, stage)
    rep.problems.extend(f"after rerun: {x}" for x in found)
    got = snapshot(work, stage.roots, stage.volatile)
    rep.diff = sorted(
        [f"missing {k}" for k in ref.keys() - got.keys()]
        + [f"extra {k}" for k in got.keys() - ref.keys()]
        + [f"differs {k}" for k in ref.keys() & got.keys() if ref[k] != got[k]]
    )
    rep.rerun_equal = not rep.diff
    rep.rows_lost = len(ref_rows - _index_rows(work, stage.roots))
    rep.wall_seconds = time.perf_counter() - t_start
    shutil.rmtree(ref_dir, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return rep


if __name__ == "__main__":
    # run the importable module's worker (stage registrations land in tests.reliability.crash, not __main__)
    from tests.reliability.crash import worker_main as _worker_main

    sys.exit(_worker_main())
