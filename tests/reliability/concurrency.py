"""Concurrent runs: several processes work on different recordings of one dataset at once.

Each worker process converts (or featurizes) its own share of the recordings one at a time;
every call updates the shared ``index.csv`` (``upsert_index`` under a file lock). The workers
start together (they wait for a ``go`` file after their imports), so their index updates
interleave. Afterwards the index must list every recording: rows lost = expected − listed.

Run a worker by hand: ``python -m tests.reliability.concurrency KIND DATASET_DIR SHARE_FILE GO_FILE``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.reliability.crash import PROJECT_DIR, _env


def make_many_recordings(ds, n_groups: int = 2, n_per_group: int = 12, n_frames: int = 30, seed: int = 0) -> list[dict]:
    """Write small generic-CSV recordings ``tracks_raw/csv/g<k>/s<i>.csv``, index them, return the raw rows."""
    import pandas as pd

    from mosaic.core.indexes import TRACKS_RAW_INDEX, read_index

    rng = np.random.default_rng(seed)
    for g in range(n_groups):
        folder = ds.get_root("tracks_raw") / "csv" / f"g{g}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_group):
            df = pd.DataFrame(
                {
                    "frame": np.repeat(np.arange(n_frames), 2),
                    "id": np.tile([0, 1], n_frames),
                    "x": rng.uniform(0, 100, 2 * n_frames),
                    "y": rng.uniform(0, 100, 2 * n_frames),
                }
            )
            df.to_csv(folder / f"s{i:03d}.csv", index=False)
    ds.index_tracks_raw(["tracks_raw/csv"], patterns=["*.csv"], src_format="csv", group_from="parent")
    raw = read_index(ds.get_root("tracks_raw") / "index.csv", TRACKS_RAW_INDEX)
    return raw.to_dict("records")


def _convert_share(ds, share: list[dict]) -> None:
    for row in share:
        ds.convert_one_track(row, params={"fps": 25.0}, overwrite=True)


def _featurize_share(ds, share: list[dict]) -> None:
    from tests.reliability.stages_more import featurize_some

    featurize_some(ds, share)


WORKERS = {"convert": _convert_share, "featurize": _featurize_share}


def worker_main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    kind, folder, share_file, go_file = argv[:4]
    from mosaic import Dataset

    if os.environ.get("MOSAIC_RELIABILITY_NO_LOCK") == "1":  # control run: show that the lock matters
        import contextlib

        import mosaic.core.indexes as _indexes

        _indexes.index_lock = lambda path: contextlib.nullcontext()
    ds = Dataset.open(folder)
    share = json.loads(Path(share_file).read_text())
    print("READY", flush=True)
    deadline = time.monotonic() + 120
    while not Path(go_file).exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        time.sleep(0.005)
    WORKERS[kind](ds, share)
    print("DONE", flush=True)
    return 0


def run_concurrently(
    kind: str, folder: Path, shares: list[list[dict]], workdir: Path, timeout: float = 300.0, no_lock: bool = False
) -> None:
    """Start one worker per share, release them together, wait; raise when one failed.

    ``no_lock`` (control runs only) disables the index lock in the workers.
    """
    env = _env()
    if no_lock:
        env["MOSAIC_RELIABILITY_NO_LOCK"] = "1"
    go = workdir / f"go-{kind}"
    if go.exists():
        go.unlink()
    procs = []
    for k, share in enumerate(shares):
        sf = workdir / f"share-{kind}-{k}.json"
        sf.write_text(json.dumps(share, default=str))
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.concurrency", kind, str(folder), str(sf), str(go)],
                cwd=PROJECT_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for p in procs:
            line = p.stdout.readline()
            if line.strip() != "READY":
                raise RuntimeError(f"worker did not start: {line!r} {p.stderr.read()[-3000:]}")
        go.write_text("go")
        for p in procs:
            _out, err = p.communicate(timeout=timeout)
            if p.returncode != 0:
                raise RuntimeError(f"worker failed (rc={p.returncode}):\n{err[-4000:]}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def interleave_split(rows: list[dict], n: int = 2) -> list[list[dict]]:
    """Split rows into ``n`` disjoint shares (round robin over groups so both touch every group)."""
    return [rows[k::n] for k in range(n)]


if __name__ == "__main__":
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    sys.exit(worker_main())
