"""The examples of the "Working with other tools" page run as shown, one after the other."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[2]


def test_interop_page_examples_run(tmp_path: Path, monkeypatch):
    blocks = re.findall(
        r"```python\n(.*?)```", (PROJECT / "docs" / "interop.md").read_text(encoding="utf-8"), flags=re.S
    )
    assert len(blocks) == 6
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    for i, src in enumerate(blocks):
        exec(compile(src, f"interop.md:block{i}", "exec"), ns)
    ds = ns["ds"]
    assert [p.suffix for p in ns["paths"]] == [".nc"] * len(ds.list_pairs())
    assert ns["nwb_paths"][0].is_file() and ns["project"].suffix == ".boris"
    # the reviewed labels hold the same (frame, individuals, behaviour) rows as the labels exported (nothing was
    # changed in BORIS; the demo's annotation codes some pair bouts from both animals, which the original
    # conversion stores twice, hence sets)
    a = ds.load_labels(ns["group"], ns["sequence"], kind="behavior")
    b = ds.load_labels(ns["group"], ns["sequence"], kind="behavior_reviewed")
    na = np.asarray(a["label_names"])[np.searchsorted(a["label_ids"], a["labels"])]
    nb = np.asarray(b["label_names"])[np.searchsorted(b["label_ids"], b["labels"])]
    rows_a = set(zip(a["frames"].tolist(), map(tuple, a["individual_ids"].tolist()), na.tolist(), strict=True))
    rows_b = set(zip(b["frames"].tolist(), map(tuple, b["individual_ids"].tolist()), nb.tolist(), strict=True))
    assert rows_a == rows_b and any(i[1] >= 0 for _, i, _ in rows_b)
    kp = ds.load_keypoint_labels(ns["g"], ns["s"], name="dlc")
    assert kp[["poseX0", "poseY0", "poseX1", "poseY1", "poseX2", "poseY2"]].iloc[0].tolist() == [
        10.0,
        20.0,
        30.0,
        40.0,
        50.0,
        60.0,
    ]
    assert ns["slp"].suffix == ".slp"
