"""Test helpers: BORIS exports written in the layout BORIS uses, and independent expected rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

AGG_HEADER = [
    "Observation id",
    "Observation date",
    "Description",
    "Media file",
    "Total length",
    "FPS",
    "Subject",
    "Behavior",
    "Behavioral category",
    "Modifiers",
    "Behavior type",
    "Start (s)",
    "Stop (s)",
    "Duration (s)",
    "Comment start",
    "Comment stop",
]
TAB_HEADER = [
    "Time",
    "Media file path",
    "Total length",
    "FPS",
    "Subject",
    "Behavior",
    "Behavioral category",
    "Comment",
    "Status",
]


def write_aggregated(
    path: Path,
    bouts,
    fps=25.0,
    media="vid.mp4",
    obs="obs1",
    total=100.0,
    sep="\t",
    header=True,
    drop_columns=(),
    description=True,
) -> Path:
    """``bouts``: list of (subject, behavior, start_s, stop_s, modifiers, type)."""
    cols = [c for c in AGG_HEADER if c not in drop_columns and (description or c != "Description")]
    lines = [sep.join(cols)] if header else []
    for subj, beh, a, b, mod, typ in bouts:
        row = {
            "Observation id": obs,
            "Observation date": "2024-01-01 10:00:00",
            "Description": "d",
            "Media file": media,
            "Total length": f"{total:.3f}",
            "FPS": f"{fps}",
            "Subject": subj,
            "Behavior": beh,
            "Behavioral category": "",
            "Modifiers": mod,
            "Behavior type": typ,
            "Start (s)": f"{a:.3f}",
            "Stop (s)": f"{b:.3f}",
            "Duration (s)": "NA" if typ == "POINT" else f"{b - a:.3f}",
            "Comment start": "",
            "Comment stop": "",
        }
        lines.append(sep.join(row[c] for c in cols))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def write_tabular(
    path: Path, events, fps=25.0, media="vid.mp4", obs="obs1", total=100.0, sep=",", drop_columns=()
) -> Path:
    """``events``: list of (time_s, subject, behavior, status, comment) in file order."""
    cols = [c for c in TAB_HEADER if c not in drop_columns]
    w = len(cols)

    def kv(*cells):
        return sep.join(list(cells) + [""] * (w - len(cells)))

    lines = [
        kv("Observation id", obs),
        kv(),
        kv("Media file(s)"),
        kv(),
        kv("Player #1", media),
        kv(),
        kv("Observation date", "2024-01-01 10:00:00"),
        kv(),
        kv("Description"),
        kv(),
        kv("Time offset (s)", "0.0"),
        kv(),
        kv("independent variables"),
        kv("variable", "value"),
        kv(),
        sep.join(cols),
    ]
    for t, subj, beh, status, comment in events:
        row = {
            "Time": f"{t:.3f}",
            "Media file path": media,
            "Total length": f"{total:.3f}",
            "FPS": f"{fps}",
            "Subject": subj,
            "Behavior": beh,
            "Behavioral category": "",
            "Comment": comment,
            "Status": status,
        }
        lines.append(sep.join(row[c] for c in cols))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def expected_rows(states: np.ndarray, targets: np.ndarray, pair_ids: set[int]) -> np.ndarray:
    """Independent per-frame expansion of a (T, n) state/target truth: rows (frame, a, b, label), sorted, each once.

    A mutual pair behaviour (both animals in it, each naming the other) is one directed event per direction.
    """
    rows = []
    T, n = states.shape
    for t in range(T):
        for i in range(n):
            s = int(states[t, i])
            if s < 0:
                continue
            j = int(targets[t, i])
            if s in pair_ids and j >= 0:
                rows.append((t, i, j, s))
                rows.append((t, j, i, s))
            else:
                rows.append((t, i, -1, s))
    return np.array(sorted(set(rows)), dtype=np.int64).reshape(-1, 4)


def got_rows(d) -> np.ndarray:
    """Rows (frame, a, b, label) of a loaded label dict, sorted."""
    r = np.column_stack([d["frames"], d["individual_ids"][:, 0], d["individual_ids"][:, 1], d["labels"]]).astype(
        np.int64
    )
    return r[np.lexsort(r.T[::-1])]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Bytes of every file under ``folder`` (to prove nothing was lost or changed)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }
