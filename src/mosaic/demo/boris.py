"""Write ground-truth bouts as BORIS exports (aggregated events and tabular events, CSV).

Both files are written as BORIS writes CSV: comma separated, CRLF line ends, times in
seconds with 3 decimals.

Time convention (exact, invertible)
-----------------------------------
A bout covering frames ``start_frame .. stop_frame - 1`` (``stop_frame`` exclusive) is
written with ``Start (s) = start_frame / fps`` and ``Stop (s) = stop_frame / fps``
(``Duration (s) = (stop_frame - start_frame) / fps``), rounded to 3 decimals. A reader
recovers ``start_frame = round(Start * fps)`` and ``stop_frame = round(Stop * fps)``
(exclusive) exactly for any fps below 1000. The time offset is 0.

Subjects are ``fish<k>`` (the TRex identity names). For pair behaviours the partner's
subject name (``fish<j>``) is the ``Modifiers`` value of the aggregated export and the
``Comment`` of both START and STOP rows of the tabular export (which has no modifiers
column); individual behaviours leave them empty. Every behaviour is a STATE event.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd

from mosaic.core.atomic import atomic_write_text

from .simulate import PAIR_BEHAVIORS, SimSequence, subject_name

AGGREGATED_COLUMNS: tuple[str, ...] = (
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
)
TABULAR_COLUMNS: tuple[str, ...] = (
    "Time",
    "Media file path",
    "Total length",
    "FPS",
    "Subject",
    "Behavior",
    "Behavioral category",
    "Comment",
    "Status",
)
DEFAULT_DATE = "2026-01-15 10:00:00"


def _fmt_time(frames, fps: float) -> list[str]:
    return [f"{f / fps:.3f}" for f in frames]


def _category(behavior: str, pair_behaviors=PAIR_BEHAVIORS) -> str:
    return "social" if behavior in pair_behaviors else "solitary"


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def _defaults(sim: SimSequence, media_file: str | None, observation_id: str | None) -> tuple[str, str, str, str]:
    media = media_file if media_file is not None else f"media_raw/{sim.group}/{sim.sequence}.mp4"
    obs = observation_id or sim.sequence
    total = f"{sim.n_frames / sim.fps:.3f}"
    fps = repr(float(sim.fps))
    return media, obs, total, fps


def write_boris_aggregated(
    sim: SimSequence,
    path: str | os.PathLike,
    media_file: str | None = None,
    observation_id: str | None = None,
    observation_date: str = DEFAULT_DATE,
    bouts: pd.DataFrame | None = None,
) -> Path:
    """Write the BORIS *aggregated events* CSV of ``sim``'s ground-truth bouts.

    Parameters
    ----------
    sim
        The simulated sequence.
    path
        Output ``.csv`` file (written atomically).
    media_file
        ``Media file`` value; default ``media_raw/<group>/<sequence>.mp4``.
    observation_id
        ``Observation id``; default the sequence name.
    observation_date
        ``Observation date`` value.
    bouts
        Bouts to write (default ``sim.bouts()``), columns as :func:`bouts_from_states`.

    Returns
    -------
    Path
        ``path``.
    """
    media, obs, total, fps = _defaults(sim.validate(), media_file, observation_id)
    b = sim.bouts() if bouts is None else bouts
    b = b.sort_values(["start_frame", "subject_id"], kind="stable")
    rows = [list(AGGREGATED_COLUMNS)]
    desc = f"mosaic demo: {sim.group} / {sim.sequence}"
    for r in b.itertuples(index=False):
        mod = subject_name(r.target_id) if r.behavior in sim.pair_behaviors and r.target_id >= 0 else ""
        rows.append(
            [
                obs,
                observation_date,
                desc,
                media,
                total,
                fps,
                subject_name(r.subject_id),
                r.behavior,
                _category(r.behavior, sim.pair_behaviors),
                mod,
                "STATE",
                f"{r.start_frame / sim.fps:.3f}",
                f"{r.stop_frame / sim.fps:.3f}",
                f"{(r.stop_frame - r.start_frame) / sim.fps:.3f}",
                "",
                "",
            ]
        )
    return atomic_write_text(path, _csv_text(rows))


def write_boris_tabular(
    sim: SimSequence,
    path: str | os.PathLike,
    media_file: str | None = None,
    observation_id: str | None = None,
    observation_date: str = DEFAULT_DATE,
    bouts: pd.DataFrame | None = None,
) -> Path:
    """Write the BORIS *tabular events* CSV (header block, then START/STOP rows).

    Parameters are those of :func:`write_boris_aggregated`. Rows are sorted by time;
    at equal times STOP rows come before START rows.
    """
    media, obs, total, fps = _defaults(sim.validate(), media_file, observation_id)
    b = sim.bouts() if bouts is None else bouts
    rows = _tabular_header(obs, media, observation_date, f"mosaic demo: {sim.group} / {sim.sequence}")
    rows.extend(_tabular_events(sim, b, media, total, fps))
    return atomic_write_text(path, _csv_text(rows))


def _tabular_header(obs: str, media: str, observation_date: str, description: str) -> list[list[str]]:
    """The header block of a tabular export, up to and including the column names."""
    width = len(TABULAR_COLUMNS)

    def kv(*cells: str) -> list[str]:
        return list(cells) + [""] * (width - len(cells))

    blank = kv()
    return [
        kv("Observation id", obs),
        blank,
        kv("Media file(s)"),
        blank,
        kv("Player #1", media),
        blank,
        kv("Observation date", observation_date),
        blank,
        kv("Description", description),
        blank,
        kv("Time offset (s)", "0.0"),
        blank,
        kv("independent variables"),
        kv("variable", "value"),
        blank,
        list(TABULAR_COLUMNS),
    ]


def _tabular_events(sim: SimSequence, b: pd.DataFrame, media: str, total: str, fps: str) -> list[list[str]]:
    """START/STOP rows of the bouts ``b``, by time (STOP before START at equal times), then subject."""
    events = []
    for r in b.itertuples(index=False):
        comment = subject_name(r.target_id) if r.behavior in sim.pair_behaviors and r.target_id >= 0 else ""
        cat = _category(r.behavior, sim.pair_behaviors)
        for frame, status, order in ((r.start_frame, "START", 1), (r.stop_frame, "STOP", 0)):
            events.append(
                (
                    int(frame),
                    order,
                    int(r.subject_id),
                    [
                        f"{frame / sim.fps:.3f}",
                        media,
                        total,
                        fps,
                        subject_name(r.subject_id),
                        r.behavior,
                        cat,
                        comment,
                        status,
                    ],
                )
            )
    events.sort(key=lambda e: e[:3])
    return [e[3] for e in events]
