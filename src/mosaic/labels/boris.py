"""Parse BORIS event exports (tabular and aggregated, CSV or TSV) into a bout table.

Long for a reason: one reader for every BORIS export layout (described below), kept together.

Pure file reading: no dataset, no frame conversion. :func:`read_boris_export` returns one row per
bout (state events paired from START/STOP, point events with ``start_s == stop_s``) plus the
problems found (unmatched START/STOP) as report entries.

Layouts read, as BORIS writes them:

* **Tabular events**: an optional header block of key/value rows (``Observation id``,
  ``Player #1``, ``Time offset (s)``, independent variables...), blank rows, then a table with
  ``Time``, ``Subject``, ``Behavior`` and ``Status`` (START/STOP/POINT; newer BORIS calls this
  column ``Behavior type``), optionally ``Media file path``/``Media file name``, ``FPS``,
  ``Total length``/``Media duration (s)``, ``Modifiers``.
* **Aggregated events**: one row per bout with ``Subject``, ``Behavior``, ``Start (s)``,
  ``Stop (s)`` (and ``Behavior type``, ``Duration (s)``, ``Media file``, ``FPS``, ``Total length``,
  ``Modifiers``, ``Observation id``). Files **without a header row** are read positionally: the last
  ten columns are ``Subject, Behavior, Behavioral category, Modifiers, Behavior type, Start (s),
  Stop (s), Duration (s), Comment start, Comment stop``; the first ones ``Observation id,
  Observation date, [Description], Media file, Total length, FPS, <independent variables>`` (the
  ``Description`` column is detected by whether the fourth cell is a number).
* **Current BORIS (8.x)** layouts of both exports: no header block; ``Observation type``,
  ``Source`` (``player #1:<path>;...``), ``Time offset (s)``, ``Media duration (s)``, ``FPS`` per
  row, modifiers split over ``Modifier #1..#k`` (joined here with ``|``), ``Behavior type`` holding
  START/STOP/POINT in the tabular export, ``Media file name`` of the event. Multi-media cells
  (``25.000;30.000``) use their first value.

Times: a per-row ``Time offset (s)`` (or the header block's) is subtracted, so times are media times.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import LabelFormatError
from mosaic.core.limits import check_text_records

log = logging.getLogger(__name__)

DELIMITERS = {"\t": "tab", ",": "comma", ";": "semicolon"}
BOUT_TABLE_COLUMNS = (
    "source_file",
    "observation_id",
    "media_file",
    "fps",
    "total_length",
    "subject",
    "behavior",
    "modifiers",
    "comment",
    "type",
    "start_s",
    "stop_s",
    "line",
    "media_queue",
    "media_lengths",
)
NO_FOCAL = ("no focal subject", "")
_NUM = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")

# aliases for the columns we need (first match wins)
_COL_ALIASES = {
    "observation_id": ("Observation id",),
    "media_file": ("Media file path", "Media file name", "Media file", "Source"),
    "source": ("Source",),
    "fps": ("FPS",),
    "total_length": ("Total length", "Media duration (s)", "Media duration"),
    "subject": ("Subject",),
    "behavior": ("Behavior",),
    "modifiers": ("Modifiers",),
    "comment": ("Comment start", "Comment"),
    "btype": ("Behavior type",),
    "status": ("Status",),
    "time": ("Time",),
    "start": ("Start (s)",),
    "stop": ("Stop (s)",),
    "offset": ("Time offset (s)",),
}
_MODIFIER_N = re.compile(r"^Modifier #\d+$")
_HEADERLESS_RIGHT = (
    "subject",
    "behavior",
    "category",
    "modifiers",
    "btype",
    "start",
    "stop",
    "duration",
    "comment",
    "comment_stop",
)


@dataclass
class BorisExport:
    """A parsed BORIS export: bouts (see :data:`BOUT_TABLE_COLUMNS`), layout name and issues."""

    path: Path
    layout: str  # "tabular" | "aggregated" | "aggregated_headerless"
    delimiter: str
    bouts: pd.DataFrame
    issues: list[dict[str, Any]] = field(default_factory=list)


def _is_num(s: str) -> bool:
    return bool(_NUM.match(s or ""))


def _to_float(values) -> np.ndarray:
    return pd.to_numeric(
        pd.Series(list(values), dtype=object).replace({"NA": None, "": None}), errors="coerce"
    ).to_numpy(dtype=float)


_PLAYER = re.compile(r"player #\d+:\s*")


def _first_value(values) -> list[str]:
    """First entry of multi-media cells (``player #1:a.mp4;b.mp4``, ``25.000;30.000``)."""
    values = list(values)
    if not values:
        return []
    uniq, inv = np.unique(np.asarray(values, dtype=str), return_inverse=True)  # few distinct values per file
    first = []
    for v in uniq.tolist():
        v = _PLAYER.sub("", v)
        first.append(re.split(r"[;|]", v)[0].strip() if v else "")
    return np.asarray(first, dtype=object)[inv].tolist()


def _all_values(values) -> list[tuple[str, ...]]:
    """Every entry of player #1 in multi-media cells: ``player #1:a.mp4;b.mp4`` → ``('a.mp4', 'b.mp4')``."""
    values = list(values)
    if not values:
        return []
    uniq, inv = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    out = []
    for v in uniq.tolist():
        players = [x for x in re.split(r"player #\d+:\s*", v) if x.strip()] if _PLAYER.search(v) else [v]
        first = players[0] if players else ""
        out.append(tuple(x.strip() for x in re.split(r"[;|]", first) if x.strip()))
    return [out[i] for i in inv.tolist()]


def _lengths(values) -> list[tuple[float, ...]]:
    """Numbers of multi-value cells (``179.960;359.960``), NaN where not a number."""
    return [tuple(float(x) if _is_num(x) else np.nan for x in t) for t in _all_values(values)]


def _modifiers(data: list[list[str]], header: list[str] | None, idx: dict[str, int | None]) -> list[str]:
    """``Modifiers`` cells, or the ``Modifier #k`` columns of newer BORIS joined with ``|``."""
    if idx["modifiers"] is not None or header is None:
        return _cells(data, idx["modifiers"])
    cols = [i for i, h in enumerate(header) if _MODIFIER_N.match(h)]
    if not cols:
        return [""] * len(data)
    return ["|".join(r[i] for i in cols if i < len(r) and r[i]) for r in data]


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LabelFormatError("cannot read BORIS export", path=path, found=str(exc)) from exc
    if not raw.strip():
        raise LabelFormatError("BORIS export is empty", path=path, expected="a tabular or aggregated events export")
    for enc in ("utf-8-sig", "latin-1"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise LabelFormatError("BORIS export is not text", path=path)  # pragma: no cover - latin-1 decodes anything


def _rows(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [[c.strip() for c in r] for r in reader]


_KNOWN = {a for v in _COL_ALIASES.values() for a in v} | {
    "Duration (s)",
    "Behavioral category",
    "Comment",
    "Observation date",
}


def _find_layout(rows: list[list[str]]) -> tuple[str, int] | None:
    """(layout, header_row_index) or None when this split shows no BORIS table."""
    for i, r in enumerate(rows[:300]):
        cells = set(r)
        if len(cells & _KNOWN) >= 3:
            if "Start (s)" in cells or "Stop (s)" in cells:
                return "aggregated", i
            if "Time" in cells or "Status" in cells:
                return "tabular", i
            return "aggregated", i
    data = [r for r in rows if any(r)]
    if data and len(data[0]) >= 15 and data[0][-6].upper() in ("STATE", "POINT") and _is_num(data[0][-5]):
        return "aggregated_headerless", -1
    return None


def _column(header: list[str], key: str) -> int | None:
    for alias in _COL_ALIASES[key]:
        if alias in header:
            return header.index(alias)
    return None


def read_boris_export(path: str | os.PathLike, delimiter: str | None = None) -> BorisExport:
    """Read one BORIS export (tabular or aggregated events; CSV or TSV).

    Parameters
    ----------
    path
        The export file.
    delimiter
        Force a delimiter (``'\\t'``, ``','``, ``';'``); default: detected.

    Raises
    ------
    LabelFormatError
        Empty/unreadable file; no BORIS table with the (given or any) delimiter; required columns
        missing (the message lists expected and found columns).
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_workbook(path)
    check_text_records(path, "BORIS export", whole=True)
    text = _read_text(path)
    candidates = [delimiter] if delimiter else ["\t", ",", ";"]
    found = None
    for d in candidates:
        rows = _rows(text, d)
        lay = _find_layout(rows)
        if lay is not None:
            found = (d, rows, lay)
            break
    if found is None:
        first = next((ln for ln in text.splitlines() if ln.strip()), "")[:120]
        if delimiter:
            others = [d for d in DELIMITERS if d != delimiter and _find_layout(_rows(text, d)) is not None]
            raise LabelFormatError(
                f"BORIS export does not split into a BORIS table with the {DELIMITERS.get(delimiter, repr(delimiter))} delimiter",
                path=path,
                expected=f"delimiter {delimiter!r}",
                found=f"the file is {DELIMITERS[others[0]]}-separated" if others else f"first line {first!r}",
                hint="leave the delimiter to detection or pass the right one",
            )
        raise LabelFormatError(
            "not a BORIS events export: no event table found with a tab, comma or semicolon delimiter",
            path=path,
            expected="a header with Time/Subject/Behavior/Status (tabular) or Subject/Behavior/Start (s)/Stop (s) (aggregated)",
            found=f"first line {first!r}",
        )
    d, rows, (layout, hi) = found
    bouts, issues = _parse(path, rows, layout, hi)
    return BorisExport(path=path, layout=layout, delimiter=d, bouts=bouts, issues=issues)


def _parse(path: Path, rows: list[list[str]], layout: str, hi: int) -> tuple[pd.DataFrame, list]:
    if layout == "tabular":
        return _parse_tabular(path, rows, hi)
    if layout == "aggregated":
        return _parse_aggregated(path, rows, hi)
    return _parse_headerless(path, rows), []


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return repr(v)
    return str(v).strip()


def _read_workbook(path: Path) -> BorisExport:
    """An XLSX export (BORIS may write one worksheet per observation); needs ``openpyxl``."""
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise LabelFormatError(
            "reading BORIS .xlsx exports needs openpyxl", path=path, hint="pip install openpyxl, or export as TSV/CSV"
        ) from exc
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise LabelFormatError(
            "not a readable .xlsx workbook", path=path, found=f"{type(exc).__name__}: {exc}"
        ) from exc
    tables, issues, layouts = [], [], []
    try:
        for ws in wb.worksheets:
            rows = [[_cell_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
            lay = _find_layout(rows)
            if lay is None:
                continue
            b, iss = _parse(path, rows, *lay)
            tables.append(b)
            issues.extend(iss)
            layouts.append(lay[0])
    finally:
        wb.close()
    if not tables:
        raise LabelFormatError(
            "no BORIS event table in any worksheet", path=path, expected="a tabular or aggregated events export"
        )
    return BorisExport(
        path=path, layout=layouts[0], delimiter="xlsx", bouts=pd.concat(tables, ignore_index=True), issues=issues
    )


def _require(path: Path, header: list[str], keys: tuple[str, ...], layout: str) -> dict[str, int]:
    idx = {k: _column(header, k) for k in _COL_ALIASES}
    missing = [_COL_ALIASES[k][0] for k in keys if idx[k] is None]
    if missing:
        raise LabelFormatError(
            f"BORIS {layout} export lacks required columns",
            path=path,
            expected=[_COL_ALIASES[k][0] for k in keys],
            found=f"missing {missing}; columns {[h for h in header if h]}",
        )
    return idx


def _cells(rows: list[list[str]], col: int | None, default: str = "") -> list[str]:
    if col is None:
        return [default] * len(rows)
    return [r[col] if col < len(r) else default for r in rows]


def _empty_bouts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in BOUT_TABLE_COLUMNS})


def _parse_aggregated(path: Path, rows: list[list[str]], hi: int) -> tuple[pd.DataFrame, list]:
    header = rows[hi]
    idx = _require(path, header, ("subject", "behavior", "start", "stop"), "aggregated")
    body = [(i + 1, r) for i, r in enumerate(rows) if i > hi and any(r)]
    lines = [i for i, _ in body]
    data = [r for _, r in body]
    if not data:
        return _empty_bouts(), []
    start = _to_float(_cells(data, idx["start"]))
    stop = _to_float(_cells(data, idx["stop"]))
    btype = np.array([s.upper() for s in _cells(data, idx["btype"])], dtype=object)
    no_type = btype == ""
    btype[no_type] = np.where(start[no_type] == stop[no_type], "POINT", "STATE")
    bad = np.isnan(start) | np.isnan(stop)
    if bad.any():
        j = int(np.argmax(bad))
        raise LabelFormatError(
            "BORIS aggregated export has non-numeric Start (s)/Stop (s)",
            path=path,
            expected="seconds",
            found=f"line {lines[j]}: {data[j]}",
        )
    return _frame(path, data, lines, idx, start, stop, btype, header), []


def _frame(path, data, lines, idx, start, stop, btype, header=None) -> pd.DataFrame:
    mods = _modifiers(data, header, idx)
    offset = np.nan_to_num(_to_float(_cells(data, idx["offset"])), nan=0.0)
    return pd.DataFrame(
        {
            "source_file": str(path),
            "observation_id": _cells(data, idx["observation_id"]),
            "media_file": _first_value(_cells(data, idx["media_file"])),
            "fps": _to_float(_first_value(_cells(data, idx["fps"]))),
            "total_length": _to_float(_first_value(_cells(data, idx["total_length"]))),
            "subject": _cells(data, idx["subject"]),
            "behavior": _cells(data, idx["behavior"]),
            "modifiers": mods,
            "comment": _cells(data, idx["comment"]),
            "type": list(btype),
            "start_s": start - offset,
            "stop_s": stop - offset,
            "line": lines,
            "media_queue": _all_values(_cells(data, idx["source"] if idx["source"] is not None else idx["media_file"])),
            "media_lengths": _lengths(_cells(data, idx["total_length"])),
        }
    )


def _parse_headerless(path: Path, rows: list[list[str]]) -> pd.DataFrame:
    body = [(i + 1, r) for i, r in enumerate(rows) if any(r)]
    width = len(body[0][1])
    bad = [ln for ln, r in body if len(r) != width]
    if bad:
        raise LabelFormatError(
            "BORIS aggregated export (no header) has rows of different lengths",
            path=path,
            expected=f"{width} columns on every row",
            found=f"line {bad[0]}",
        )
    data = [r for _, r in body]
    lines = [ln for ln, _ in body]
    # left block: Observation id, Observation date, [Description], Media file, Total length, FPS, vars...
    has_description = not _is_num(data[0][3])
    m = 3 if has_description else 2
    idx: dict[str, int | None] = {k: None for k in _COL_ALIASES}
    idx.update({"observation_id": 0, "media_file": m, "total_length": m + 1, "fps": m + 2})
    for k, name in enumerate(_HEADERLESS_RIGHT):
        if name in idx:
            idx[name] = width - 10 + k
    start = _to_float(_cells(data, idx["start"]))
    stop = _to_float(_cells(data, idx["stop"]))
    btype = np.array([s.upper() for s in _cells(data, idx["btype"])], dtype=object)
    if np.isnan(start).any() or np.isnan(stop).any() or not np.isin(btype, ["STATE", "POINT"]).all():
        raise LabelFormatError(
            "BORIS aggregated export (no header) does not have the expected columns",
            path=path,
            expected="... Subject, Behavior, Behavioral category, Modifiers, Behavior type, Start (s), Stop (s), Duration (s), Comment start, Comment stop",
            found=f"line {lines[0]}: {data[0]}",
        )
    return _frame(path, data, lines, idx, start, stop, btype)


def _parse_tabular(path: Path, rows: list[list[str]], hi: int) -> tuple[pd.DataFrame, list]:
    header = rows[hi]
    status_key = "status" if _column(header, "status") is not None else "btype"
    idx = _require(path, header, ("time", "subject", "behavior", status_key), "tabular")
    # header block key/value rows
    meta = {r[0]: r[1] for r in rows[:hi] if len(r) >= 2 and r[0]}
    offset = float(meta["Time offset (s)"]) if _is_num(meta.get("Time offset (s)", "")) else 0.0
    body = [(i + 1, r) for i, r in enumerate(rows) if i > hi and any(r)]
    if not body:
        return _empty_bouts(), []
    data = [r for _, r in body]
    lines = np.array([ln for ln, _ in body])
    row_offset = _to_float(_cells(data, idx["offset"]))
    time = _to_float(_cells(data, idx["time"])) - np.where(np.isfinite(row_offset), row_offset, offset)
    if np.isnan(time).any():
        j = int(np.argmax(np.isnan(time)))
        raise LabelFormatError(
            "BORIS tabular export has a non-numeric Time",
            path=path,
            expected="seconds",
            found=f"line {lines[j]}: {data[j]}",
        )
    status = np.array([s.upper() for s in _cells(data, idx[status_key])], dtype=object)
    unknown = ~np.isin(status, ["START", "STOP", "POINT"])
    if unknown.any():
        j = int(np.argmax(unknown))
        raise LabelFormatError(
            f"BORIS tabular export has an unknown {header[idx[status_key]]!r} value",
            path=path,
            expected="START, STOP or POINT",
            found=f"line {lines[j]}: {status[j]!r}",
        )
    obs_default = meta.get("Observation id", "")
    media_default = meta.get("Player #1", "")
    ev = pd.DataFrame(
        {
            "observation_id": [o or obs_default for o in _cells(data, idx["observation_id"])],
            "media_file": [m or media_default for m in _first_value(_cells(data, idx["media_file"]))],
            "fps": _to_float(_first_value(_cells(data, idx["fps"]))),
            "total_length": _to_float(_first_value(_cells(data, idx["total_length"]))),
            "subject": _cells(data, idx["subject"]),
            "behavior": _cells(data, idx["behavior"]),
            "modifiers": _modifiers(data, header, idx),
            "comment": _cells(data, idx["comment"]),
            "status": status,
            "time": time,
            "line": lines,
            "media_queue": _all_values(
                [
                    m or media_default
                    for m in _cells(data, idx["source"] if idx["source"] is not None else idx["media_file"])
                ]
            ),
            "media_lengths": _lengths(_cells(data, idx["total_length"])),
        }
    )
    return pair_state_events(path, ev)


def pair_state_events(path: Path, ev: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Turn START/STOP/POINT events into bouts.

    ``ev`` has the columns ``observation_id, media_file, fps, total_length, subject, behavior,
    modifiers, comment, status, time, line`` (and optionally ``media_queue``, ``media_lengths``:
    the observation's queued media of player #1 and their lengths, as tuples). Returns the bout table (:data:`BOUT_TABLE_COLUMNS`)
    and the unmatched START/STOP events as report entries.
    """
    issues: list[dict[str, Any]] = []
    out = []
    if not len(ev):
        return _empty_bouts(), issues
    points = ev[ev["status"] == "POINT"]
    if len(points):
        out.append(points.assign(type="POINT", start_s=points["time"], stop_s=points["time"]))
    states = ev[ev["status"] != "POINT"]
    # pair START/STOP in time (then file) order per (observation, media, subject, behavior, modifiers), as
    # BORIS does (one behaviour with two modifier values is two states): a START opens, the next STOP closes. Well-formed groups (START, STOP, START, STOP...) are paired vectorized; the
    # others go through a small state machine that reports each unmatched event.
    keys = ["observation_id", "media_file", "subject", "behavior", "modifiers"]
    st = (
        states.assign(_ord=np.arange(len(states)))
        .sort_values(keys + ["time", "_ord"], kind="stable")
        .reset_index(drop=True)
    )
    if len(st):
        grp = st.groupby(keys, sort=False)
        pos = grp.cumcount().to_numpy()
        size = grp["time"].transform("size").to_numpy()
        is_start = (st["status"] == "START").to_numpy()
        good_row = is_start == (pos % 2 == 0)
        good = pd.Series(good_row).groupby(grp.ngroup().to_numpy()).transform("all").to_numpy() & (size % 2 == 0)
        gs = st[good & is_start].reset_index(drop=True)
        ge = st[good & ~is_start].reset_index(drop=True)
        if len(gs):
            out.append(gs.assign(type="STATE", start_s=gs["time"].to_numpy(), stop_s=ge["time"].to_numpy()))
        for _, g in st[~good].groupby(keys, sort=False):
            _pair_malformed(path, g, out, issues)
    if not out:
        return _empty_bouts(), issues
    bouts = pd.concat(out, ignore_index=True)
    bouts["source_file"] = str(path)
    for col in ("media_queue", "media_lengths"):
        if col not in bouts.columns:
            bouts[col] = [()] * len(bouts)
    bouts = bouts.sort_values(["line"], kind="stable").reset_index(drop=True)
    return bouts[list(BOUT_TABLE_COLUMNS)], issues


def _pair_malformed(path: Path, g: pd.DataFrame, out: list[pd.DataFrame], issues: list[dict[str, Any]]) -> None:
    """Pair the START/STOP events of one malformed group in order; report each unmatched one."""
    recs = g.to_dict("records")
    open_row = None
    starts, stops = [], []
    for row in recs:
        if row["status"] == "START":
            if open_row is not None:
                issues.append(
                    _issue(
                        path,
                        "unmatched_start",
                        row=open_row,
                        message="START followed by another START without STOP; first START ignored",
                    )
                )
            open_row = row
        elif open_row is None:
            issues.append(_issue(path, "unmatched_stop", row=row, message="STOP without START; ignored"))
        else:
            starts.append(open_row)
            stops.append(row)
            open_row = None
    if open_row is not None:
        issues.append(_issue(path, "unmatched_start", row=open_row, message="START without STOP; ignored"))
    if starts:
        sdf = pd.DataFrame(starts)
        out.append(sdf.assign(type="STATE", start_s=sdf["time"].to_numpy(), stop_s=[r["time"] for r in stops]))


def _issue(path: Path, kind: str, row=None, message: str = "", **extra: Any) -> dict[str, Any]:
    d = {"file": str(path), "issue": kind, "message": message}
    if row is not None:
        for k in ("observation_id", "subject", "behavior", "line"):
            if k in row:
                d[k] = row[k].item() if hasattr(row[k], "item") else row[k]
        if "line" in d:
            d["line"] = int(d["line"])
        if "time" in row:
            d["time_s"] = float(row["time"])
    d.update(extra)
    return d


def _observation_events(
    path: Path, obs_id: Any, obs: Mapping[str, Any], kinds: Mapping[str, str]
) -> pd.DataFrame | None:
    """The events of one project observation with START/STOP/POINT status, placed on its media (None: no events)."""
    events = obs.get("events") or []
    if not events:
        return None
    try:
        ev = pd.DataFrame(
            [e[:5] + [""] * (5 - len(e[:5])) for e in events],
            columns=["time", "subject", "behavior", "modifiers", "comment"],
        )
        ev["time"] = ev["time"].astype(float)
    except (TypeError, ValueError) as exc:
        raise LabelFormatError(
            "BORIS project has malformed events", path=path, found=f"observation {obs_id!r}: {exc}"
        ) from exc
    ev = ev.astype({"subject": str, "behavior": str, "modifiers": str, "comment": str})
    ev["line"] = np.arange(len(ev))
    unknown = sorted(set(ev["behavior"]) - set(kinds))
    if unknown:
        raise LabelFormatError(
            "BORIS project events use behaviours not in its ethogram",
            path=path,
            expected=sorted(kinds),
            found=f"observation {obs_id!r}: {unknown}",
        )
    offset = float(obs.get("time offset") or 0.0)
    ev["time"] = ev["time"] - offset
    ev = ev.sort_values(["time", "line"], kind="stable").reset_index(drop=True)
    is_state = ev["behavior"].map(kinds).eq("STATE").to_numpy()
    nth = ev[is_state].groupby(["subject", "behavior", "modifiers"]).cumcount().to_numpy()
    status = np.full(len(ev), "POINT", dtype=object)
    status[is_state] = np.where(nth % 2 == 0, "START", "STOP")
    ev["status"] = status
    ev["observation_id"] = str(obs_id)
    return _place_on_media(path, obs_id, obs, ev)


def _place_on_media(path: Path, obs_id: Any, obs: Mapping[str, Any], ev: pd.DataFrame) -> pd.DataFrame:
    """Assign each event to the queued media file of player #1 it falls in; times become relative to that file."""
    media = [str(m) for m in ((obs.get("file") or {}).get("1") or [])] if obs.get("type", "MEDIA") == "MEDIA" else []
    info = obs.get("media_info") or {}
    lengths = np.array([float((info.get("length") or {}).get(m, np.nan)) for m in media])
    fps = np.array([float((info.get("fps") or {}).get(m, np.nan)) for m in media])
    if len(media) == 0:
        ev["media_file"], ev["fps"], ev["total_length"] = "", np.nan, np.nan
    elif len(media) == 1:
        ev["media_file"], ev["fps"], ev["total_length"] = media[0], fps[0], lengths[0]
    elif not (np.isfinite(lengths[:-1]) & (lengths[:-1] > 0)).all():
        raise LabelFormatError(
            f"observation {obs_id!r} queues {len(media)} media files but the project lacks their lengths; nothing of it was written",
            path=path,
            expected="media_info.length of every queued file but the last",
            found=dict(zip(media, lengths.tolist(), strict=False)),
            hint="open the project in BORIS once (it measures the media), or export the events and pass params media_offsets",
        )
    else:
        starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
        k = np.clip(np.searchsorted(starts, ev["time"].to_numpy(), side="right") - 1, 0, len(media) - 1)
        ev["media_file"] = np.asarray(media, dtype=object)[k]
        ev["fps"], ev["total_length"] = fps[k], lengths[k]
        ev["time"] = ev["time"].to_numpy() - starts[k]
    return ev


def read_boris_project(path: str | os.PathLike) -> BorisExport:
    """Read the coded events of every observation of a BORIS project file (``.boris``, JSON).

    State events are toggles: the events of one (subject, behaviour code, modifiers) alternate
    START/STOP in time order (BORIS keeps a behaviour coded with two modifier values as two states). Queued media files of player #1 play one after the other and event times run across
    the queue, so each event is assigned to the media file it falls in (from ``media_info`` lengths)
    and its time made relative to that file; the observation ``time offset`` is subtracted.

    Raises
    ------
    LabelFormatError
        Not JSON, or not a BORIS project (``observations``/``behaviors_conf`` missing), malformed events.
    """
    import json

    path = Path(path)
    try:
        pj = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise LabelFormatError("BORIS project is not valid JSON", path=path, found=str(exc)) from exc
    if (
        not isinstance(pj, dict)
        or not isinstance(pj.get("observations"), dict)
        or not isinstance(pj.get("behaviors_conf"), dict)
    ):
        raise LabelFormatError(
            "not a BORIS project file",
            path=path,
            expected="JSON with 'observations' and 'behaviors_conf'",
            found=sorted(pj)[:12] if isinstance(pj, dict) else type(pj).__name__,
        )
    kinds = {
        str(b.get("code")): ("POINT" if "point" in str(b.get("type", "")).lower() else "STATE")
        for b in pj["behaviors_conf"].values()
        if isinstance(b, dict)
    }
    frames = []
    for obs_id, obs in pj["observations"].items():
        ev = _observation_events(path, obs_id, obs, kinds)
        if ev is None:
            continue
        frames.append(ev)
    if not frames:
        return BorisExport(path=path, layout="project", delimiter="", bouts=_empty_bouts())
    bouts, issues = pair_state_events(path, pd.concat(frames, ignore_index=True))
    return BorisExport(path=path, layout="project", delimiter="", bouts=bouts, issues=issues)
