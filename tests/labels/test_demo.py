"""Round trip on the simulator: ground-truth bouts → BORIS exports (both kinds) and CalMS21 → labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mosaic.demo as demo
from mosaic.core.safe_names import sequence_key

from .helpers import expected_rows, got_rows


@pytest.fixture(scope="module")
def demo_ds(tmp_path_factory):
    from mosaic import Dataset

    folder = tmp_path_factory.mktemp("demo") / "ds"
    demo.make_demo_dataset(folder, size="tiny", seed=0, videos=False)
    return Dataset.open(folder)


BORIS_PARAMS = {"pair_behaviors": list(demo.PAIR_BEHAVIORS), "behaviors": list(demo.BEHAVIORS)}


@pytest.mark.parametrize("export", ["boris_aggregated", "boris_tabular"])
def test_boris_round_trip_equals_ground_truth(demo_ds, export):
    rep = demo_ds.convert_all_labels(kind=export, params={"paths": [f"annotations/{export}"], **BORIS_PARAMS})
    assert rep.issues == []
    seqs = pd.read_csv(demo_ds.folder / "ground_truth" / "sequences.csv")
    assert sorted(rep.written) == sorted(zip(seqs["group"], seqs["sequence"], strict=False))
    pair_ids = {list(demo.BEHAVIORS).index(b) for b in demo.PAIR_BEHAVIORS}
    for g, s in rep.written:
        with np.load(demo_ds.folder / "ground_truth" / f"{sequence_key(g, s)}.npz") as gt:
            states, targets = gt["states"], gt["targets"]
            assert list(gt["behaviors"]) == list(demo.BEHAVIORS)
        d = demo_ds.load_labels(g, s, kind=export)
        assert np.array_equal(got_rows(d), expected_rows(states, targets, pair_ids)), (g, s)
        # per (frame, animal): the dense table gives back the simulator's states and targets wherever the
        # stored rows are unambiguous (an individual row, or a single pair row); where an animal is both in its
        # own pair bout and the partner of another animal's pair bout, both rows are stored and either may win
        dense = demo_ds.labels_to_dense(d, frames=np.arange(states.shape[0]), ids=np.arange(states.shape[1]))
        lab = dense["label"].to_numpy().reshape(states.shape)
        id2 = dense["id2"].to_numpy().reshape(states.shape)
        true_id2 = np.where(np.isin(states, list(pair_ids)), targets, -1)
        distinct = np.unique(got_rows(d), axis=0)  # (frame, id, id2, label) without duplicates
        n_rows = np.zeros(states.shape, int)
        np.add.at(n_rows, (distinct[:, 0], distinct[:, 1]), 1)
        clear = (true_id2 < 0) | (n_rows == 1)
        assert clear.mean() > 0.9
        assert np.array_equal(lab[clear], states[clear]) and np.array_equal(id2[clear], true_id2[clear])
        rows = set(map(tuple, got_rows(d)[:, [0, 1, 2, 3]].tolist()))
        t, i = np.nonzero(~clear)
        assert all((tt, ii, jj, ll) in rows for tt, ii, jj, ll in zip(t, i, id2[~clear], lab[~clear], strict=False))


def test_events_to_bouts_round_trip_on_demo_labels(demo_ds):
    from mosaic.labels import bouts_to_events, events_to_bouts

    demo_ds.convert_all_labels(kind="agg2", params={"paths": ["annotations/boris_aggregated"], **BORIS_PARAMS})
    truth = pd.read_csv(demo_ds.folder / "ground_truth" / "bouts.csv")
    g, s = truth["group"].iloc[0], truth["sequence"].iloc[0]
    d = demo_ds.load_labels(g, s, kind="agg2")
    b = events_to_bouts(d["frames"], d["labels"], d["individual_ids"])
    f, lab, ids = bouts_to_events(b["start"], b["stop"], b["label"], b["id_a"], b["id_b"], both_directions=False)
    back = set(zip(f.tolist(), ids[:, 0].tolist(), ids[:, 1].tolist(), lab.tolist(), strict=False))
    assert back == set(map(tuple, got_rows(d).tolist()))
    # every individual (non-pair) truth bout is one stored bout
    names = list(demo.BEHAVIORS)
    solo = truth[(truth["group"] == g) & (truth["sequence"] == s) & (truth["target_id"] < 0)]
    got = set(map(tuple, b[["start", "stop", "label", "id_a", "id_b"]].to_numpy().tolist()))
    assert {
        (int(r.start_frame), int(r.stop_frame), names.index(r.behavior), int(r.subject_id), -1)
        for r in solo.itertuples()
    } <= got


def test_calms21_demo_per_frame(demo_ds):
    rep = demo_ds.convert_all_labels(
        kind="calms21", source_format="calms21_npy", params={"paths": ["tracks_raw/calms21/calms21_demo.npy"]}
    )
    obj = np.load(demo_ds.folder / "tracks_raw" / "calms21" / "calms21_demo.npy", allow_pickle=True).item()
    n = 0
    for g, seqs in obj.items():
        for s, rec in seqs.items():
            d = demo_ds.load_labels(g, s, kind="calms21")
            m = (d["individual_ids"][:, 0] == 0) & (d["individual_ids"][:, 1] == 1)
            assert np.array_equal(d["labels"][m], rec["annotations"]) and np.array_equal(
                d["frames"][m], np.arange(len(rec["annotations"]))
            )
            n += 1
    assert len(rep) == n > 0
    assert demo_ds.get_label_map("calms21") == {v: k for k, v in demo.CALMS21_VOCAB.items()}


def test_calms21_demo_against_truth_bouts(demo_ds):
    demo_ds.convert_all_labels(
        kind="calms_solo", params={"paths": ["tracks_raw/calms21/calms21_demo.npy"], "solo_labels": ["other"]}
    )
    truth = pd.read_csv(demo_ds.folder / "ground_truth" / "calms21_bouts.csv")
    vocab = demo.CALMS21_VOCAB
    for (ann, key), t in truth.groupby(["annotator", "sequence_key"]):
        rows = []
        for r in t.itertuples():
            for f in range(int(r.start_frame), int(r.stop_frame)):
                rows.append((f, int(r.subject_id), int(r.target_id), vocab[r.behavior]))
                if r.target_id >= 0:
                    rows.append((f, int(r.target_id), int(r.subject_id), vocab[r.behavior]))
        exp = np.array(sorted(rows))
        assert np.array_equal(got_rows(demo_ds.load_labels(ann, key, kind="calms_solo")), exp), key


def test_format_is_detected_from_the_dataset(demo_ds, tmp_path):
    from mosaic import Dataset
    from mosaic.core.errors import ConfigError

    rep = demo_ds.convert_all_labels(kind="auto", pair_behaviors=list(demo.PAIR_BEHAVIORS))
    assert rep.source_format == "boris_csv" and len(rep) > 0 and rep.issues == []
    empty = Dataset.create(tmp_path / "e", name="e")
    with pytest.raises(ConfigError, match="cannot tell the label source format"):
        empty.convert_all_labels()


def test_mutual_pair_events_are_stored_once(demo_ds):
    """``contact`` is annotated for both animals (each names the other): each directed pair row is stored once."""
    rep = demo_ds.convert_all_labels(kind="mutual", params={"paths": ["annotations/boris_aggregated"], **BORIS_PARAMS})
    contact = list(demo.BEHAVIORS).index("contact")
    idx = rep.index.set_index(["group", "sequence"])
    n_mutual = 0
    for g, s in rep.written:
        with np.load(demo_ds.folder / "ground_truth" / f"{sequence_key(g, s)}.npz") as gt:
            states, targets = gt["states"], gt["targets"]
        # independent count: directed (frame, a, b) contact rows from the truth, as a set
        t, i = np.nonzero(states == contact)
        truth = {(int(tt), int(ii), int(targets[tt, ii])) for tt, ii in zip(t, i, strict=False)}
        truth |= {(tt, jj, ii) for tt, ii, jj in truth}
        mutual = sum(1 for tt, ii, jj in truth if states[tt, jj] == contact and targets[tt, jj] == ii)
        n_mutual += mutual
        d = demo_ds.load_labels(g, s, kind="mutual")
        rows = got_rows(d)
        assert len(np.unique(rows, axis=0)) == len(rows), (g, s)
        got = rows[rows[:, 3] == contact]
        assert {tuple(r[:3]) for r in got.tolist()} == truth and len(got) == len(truth)
        assert idx.loc[(g, s), "n_events"] == len(rows)
        # at a frame of mutual contact, the pair appears once per direction
        if mutual:
            tt, ii, jj = next(
                (tt, ii, jj) for tt, ii, jj in sorted(truth) if states[tt, jj] == contact and targets[tt, jj] == ii
            )
            at = rows[(rows[:, 0] == tt) & (rows[:, 3] == contact)]
            assert sorted(map(tuple, at[:, 1:3].tolist())).count((ii, jj)) == 1
    assert n_mutual > 0  # the demo does annotate mutual contacts for both animals
