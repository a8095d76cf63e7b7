"""Hand-built synthetic recordings for model tests: features and labels with known ground truth.

Each recording has 3 animals (ids 0, 1, 2). Animals alternate ``rest`` / ``explore`` bouts;
animals 0 and 1 are in mutual ``contact`` during fixed bouts. The feature ``speed`` (per
individual) separates rest (≈0.2), explore (≈2) and contact (≈0.8); the pair feature ``pair``
has ``distance`` ≈ 1 for the contacting pair during contact and ≈ 10 otherwise.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd

from mosaic.core.indexes import upsert_index
from mosaic.core.safe_names import sequence_key, to_safe_name
from mosaic.labels.events import bouts_to_events
from mosaic.labels.io import LabelSet, save_label_sets

BEHAVIORS = ("rest", "explore", "contact")  # label ids 0, 1, 2
N_IDS = 3


def simulate_states(T: int, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Per-frame state (T, N_IDS) and the contact bouts [start, stop) of the pair (0, 1)."""
    states = np.zeros((T, N_IDS), dtype=np.int64)
    for k in range(N_IDS):
        t, s = 0, int(rng.integers(2))
        while t < T:
            d = int(rng.integers(15, 45))
            states[t : t + d, k] = s
            t += d
            s = 1 - s
    contacts = []
    t = int(rng.integers(10, 40))
    while t + 20 < T:
        d = int(rng.integers(15, 35))
        contacts.append((t, min(t + d, T)))
        states[t : t + d, 0] = 2
        states[t : t + d, 1] = 2
        t += d + int(rng.integers(40, 80))
    return states, contacts


def features_for(states: np.ndarray, contacts, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(individual 'speed' table keyed (frame, id), pair 'pair' table keyed (frame, id, id2))."""
    T = len(states)
    mean = np.array([0.2, 2.0, 0.8])[states]
    speed = mean + rng.normal(0, 0.15, states.shape)
    frame = np.repeat(np.arange(T), N_IDS)
    ids = np.tile(np.arange(N_IDS), T)
    indiv = pd.DataFrame({"frame": frame, "id": ids, "speed": speed.ravel(), "time": frame / 30.0})
    pairs = [(a, b) for a in range(N_IDS) for b in range(N_IDS) if a != b]
    rows = []
    in_contact = np.zeros(T, bool)
    for s, e in contacts:
        in_contact[s:e] = True
    for a, b in pairs:
        d = 10 + rng.normal(0, 1.5, T)
        if {a, b} == {0, 1}:
            d = np.where(in_contact, 1 + rng.normal(0, 0.2, T), d)
        rows.append(
            pd.DataFrame(
                {"frame": np.arange(T), "id": a, "id2": b, "distance": d, "rel_speed": np.abs(rng.normal(0, 1, T))}
            )
        )
    pair = pd.concat(rows, ignore_index=True).sort_values(["frame", "id", "id2"]).reset_index(drop=True)
    return indiv, pair


def labelset_for(group: str, sequence: str, states: np.ndarray, contacts) -> LabelSet:
    """Individual events for rest/explore, pair events [0, 1] (both directions) for contact."""
    T = len(states)
    starts, stops, labs, ida, idb = [], [], [], [], []
    for k in range(N_IDS):
        s = states[:, k]
        change = np.flatnonzero(np.diff(s)) + 1
        st = np.concatenate([[0], change])
        en = np.concatenate([change, [T]])
        for a, b in zip(st, en):
            if s[a] == 2:
                continue
            starts.append(a)
            stops.append(b)
            labs.append(int(s[a]))
            ida.append(k)
            idb.append(-1)
    for a, b in contacts:
        starts.append(a)
        stops.append(b)
        labs.append(2)
        ida.append(0)
        idb.append(1)
    frames, labels, iids = bouts_to_events(starts, stops, labs, ida, idb)
    return LabelSet(
        group=group,
        sequence=sequence,
        frames=frames,
        labels=labels,
        individual_ids=iids,
        label_ids=np.arange(len(BEHAVIORS)),
        label_names=np.array(BEHAVIORS),
        fps=30.0,
        n_frames=T,
    )


def write_feature(ds, name: str, tables: dict, run_id: str = "run0001") -> None:
    """Write hand-built feature tables into the features layout + index (as the engine does)."""
    from mosaic.features.engine import FEATURES_INDEX, feature_index_path, feature_root

    rows = []
    for (g, s), df in tables.items():
        p = feature_root(ds, name) / run_id / f"{sequence_key(g, s)}.parquet"
        p.parent.mkdir(parents=True, exist_ok=True)
        df.to_parquet(p, index=False)
        rows.append(
            {
                "feature": name,
                "version": "1",
                "run_id": run_id,
                "group": g,
                "sequence": s,
                "group_safe": to_safe_name(g),
                "sequence_safe": to_safe_name(s),
                "abs_path": ds.relative_path(p),
                "n_rows": len(df),
                "params_json": "{}",
                "inputs_json": "[]",
                "filters_json": "{}",
                "created_iso": datetime.now(timezone.utc).isoformat(),
            }
        )
    upsert_index(feature_index_path(ds, name), rows, FEATURES_INDEX)


def make_synthetic(
    ds, n_groups: int = 2, n_sequences: int = 3, T: int = 300, seed: int = 0, kind: str = "behavior", label_pairs=None
) -> list[tuple[str, str]]:
    """Write features ``speed`` and ``pair`` and labels of ``kind`` for every recording; return the keys."""
    rng = np.random.default_rng(seed)
    indiv, pair, sets, keys = {}, {}, [], []
    for gi in range(n_groups):
        for si in range(n_sequences):
            g, s = f"g{gi}", f"g{gi}_s{si}"
            states, contacts = simulate_states(T, rng)
            indiv[(g, s)], pair[(g, s)] = features_for(states, contacts, rng)
            if label_pairs is None or (g, s) in label_pairs:
                sets.append(labelset_for(g, s, states, contacts))
            keys.append((g, s))
    write_feature(ds, "speed", indiv)
    write_feature(ds, "pair", pair)
    save_label_sets(ds, kind, sets)
    return keys
