"""The dataset manifest: roots, remapping, portability, the sequence catalog, named errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mosaic import Dataset
from mosaic.core.errors import ConfigError, IndexFileError, ManifestError, RootNotSetError
from mosaic.core.indexes import TRACKS_INDEX, read_index, write_index
from mosaic.core.safe_names import to_safe_name


def _tracks_index(ds, pairs):
    rows = [
        {
            "group": g,
            "sequence": s,
            "group_safe": to_safe_name(g),
            "sequence_safe": to_safe_name(s),
            "abs_path": f"tracks/{to_safe_name(g)}__{to_safe_name(s)}.parquet",
            "schema": "trex_v1",
            "src_format": "csv",
            "n_rows": 1,
            "n_frames": 1,
            "n_ids": 1,
            "fps": 30.0,
        }
        for g, s in pairs
    ]
    write_index(ds.get_root("tracks") / "index.csv", pd.DataFrame(rows), TRACKS_INDEX)


def test_create_save_load_yaml_and_json(tmp_path):
    Dataset.create(tmp_path / "a", name="exp1", meta={"fps_default": 30})
    assert (tmp_path / "a" / "dataset.yaml").exists()
    for key in ("tracks", "labels", "features", "frames", "models", "media", "media_raw", "tracks_raw"):
        assert (tmp_path / "a" / key).is_dir()
    back = Dataset.open(tmp_path / "a")
    assert back.name == "exp1" and back.meta == {"fps_default": 30}
    Dataset.create(tmp_path / "b", name="js", format="json")
    assert json.loads((tmp_path / "b" / "dataset.json").read_text())["name"] == "js"
    assert Dataset.open(tmp_path / "b" / "dataset.json").format == "json"
    # create never overwrites an existing manifest
    again = Dataset.create(tmp_path / "a", name="other")
    assert again.name == "exp1"


def test_roots_absolute_relative_and_errors(tmp_path):
    ds = Dataset.create(tmp_path / "d")
    assert ds.get_root("tracks") == tmp_path / "d" / "tracks"
    ds.set_root("media_raw", tmp_path / "videos")  # outside the folder: stays absolute
    assert ds.roots["media_raw"] == (tmp_path / "videos").as_posix()
    assert (tmp_path / "videos").is_dir()
    ds.set_root("frames", tmp_path / "d" / "out" / "frames")  # inside: stored relative
    assert ds.roots["frames"] == "out/frames"
    assert ds.resolve_media_root() == "media_raw"
    assert ds.get_root(ds.resolve_media_root()) == tmp_path / "videos"
    ds.roots["media_raw"] = ""
    assert not ds.has_root("media_raw")
    assert ds.resolve_media_root() == "media"
    with pytest.raises(RootNotSetError) as ei:
        ds.get_root("media_raw")
    assert isinstance(ei.value, KeyError)
    assert "media_raw" in str(ei.value) and "tracks" in str(ei.value)
    for bad in ("", "../up", "a/b", "1st", "x" * 65, None):
        with pytest.raises(ConfigError):
            ds.set_root(bad, "x")
    ds.roots["media"] = ""
    with pytest.raises(RootNotSetError, match="no media root"):
        ds.resolve_media_root()


def test_resolve_media_root_falls_back_for_manifests_without_media_raw(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "dataset.yaml").write_text("name: old\nroots:\n  media: videos\n  tracks: tracks\n")
    ds = Dataset.open(folder)
    assert ds.resolve_media_root() == "media"
    assert ds.get_root(ds.resolve_media_root()) == folder / "videos"
    assert ds.get_root("media_raw") == folder / "media_raw"  # the default folder still answers get_root
    ds.save()  # the default root is not written into the manifest
    assert yaml.safe_load((folder / "dataset.yaml").read_text())["roots"] == {"media": "videos", "tracks": "tracks"}
    assert Dataset.open(folder).resolve_media_root() == "media"
    ds.set_root("media_raw", "raw")
    assert ds.resolve_media_root() == "media_raw"
    ds.save()
    assert Dataset.open(folder).resolve_media_root() == "media_raw"
    assert Dataset.create(tmp_path / "new").resolve_media_root() == "media_raw"


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_extra_roots_and_keys_round_trip_unchanged(tmp_path, fmt):
    folder = tmp_path / fmt
    folder.mkdir()
    data = {
        "name": "lab",
        "version": "2",
        "owner": {"lab": "Smith", "grants": ["R01", "R21"]},
        "notes": "pilot",
        "roots": {"media_raw": "/data/raw", "tracks": "tracks", "annotations": "ann", "exports": "/share/out"},
        "meta": {"fps_default": 25},
    }
    p = folder / f"dataset.{fmt}"
    p.write_text(json.dumps(data) if fmt == "json" else yaml.safe_dump(data, sort_keys=False))
    ds = Dataset.open(folder)
    assert ds.get_root("annotations") == folder / "ann"
    assert ds.get_root("exports") == Path("/share/out")
    ds.save()
    back = json.loads(p.read_text()) if fmt == "json" else yaml.safe_load(p.read_text())
    # every key as it was, in the file's order, and nothing added
    assert back == data and list(back) == list(data) and list(back["roots"]) == list(data["roots"])
    ds.dataset_type, ds.meta["fps_default"] = "continuous", 30
    ds.segment_duration, ds.time_column = "1h", "t"
    ds.save()
    changed = json.loads(p.read_text()) if fmt == "json" else yaml.safe_load(p.read_text())
    assert (
        changed["meta"] == {"fps_default": 30}
        and changed["dataset_type"] == "continuous"
        and changed["owner"] == data["owner"]
    )
    assert list(changed)[: len(data)] == list(data)  # mosaic's changed fields come after the file's keys
    ds = Dataset.open(folder)
    ds.set_root("annotations", "labels_by_hand")
    ds.set_root("qc-plots.v2", folder / "qc")
    ds.save()
    again = Dataset.open(folder)
    assert again.roots["annotations"] == "labels_by_hand" and again.roots["qc-plots.v2"] == "qc"
    assert (folder / "qc").is_dir() and again._extra["owner"] == data["owner"]
    # the user's own roots are not mosaic's: their index files are never rewritten
    (folder / "labels_by_hand").mkdir(exist_ok=True)
    (folder / "labels_by_hand" / "index.csv").write_text("abs_path\n/elsewhere/a.csv\n")
    assert all("labels_by_hand" not in str(p) for p in again.index_files())
    again.make_portable()
    assert (folder / "labels_by_hand" / "index.csv").read_text() == "abs_path\n/elsewhere/a.csv\n"


def test_remap_longest_prefix_wins(tmp_path):
    ds = Dataset.create(tmp_path / "d")
    ds.roots["media_raw"] = "/old/data/videos/raw"
    ds.roots["tracks_raw"] = "/old/data/tracks"
    ds.roots["frames"] = "/old/database"  # shares a string prefix with /old/data, not a path prefix
    changed = ds.remap_roots({"/old": "/new", "/old/data/videos": "/fast/vids"})
    assert ds.roots["media_raw"] == "/fast/vids/raw"
    assert ds.roots["tracks_raw"] == "/new/data/tracks"
    assert ds.roots["frames"] == "/new/database"
    assert changed["media_raw"] == ("/old/data/videos/raw", "/fast/vids/raw")
    assert ds.remap_path("/old/data/videos/a.mp4") == Path("/fast/vids/a.mp4")
    assert ds.remap_path("/elsewhere/a.mp4") == Path("/elsewhere/a.mp4")


def test_resolve_path_rules(tmp_path):
    ds = Dataset.create(tmp_path / "d")
    ds.path_map = {"/gone/lab": str(tmp_path / "d")}
    existing = tmp_path / "exists.txt"
    existing.write_text("x")
    assert ds.resolve_path("tracks/a.parquet") == tmp_path / "d" / "tracks" / "a.parquet"
    assert ds.resolve_path("a.parquet", anchor=tmp_path / "anchor") == tmp_path / "anchor" / "a.parquet"
    assert ds.resolve_path(existing) == existing
    assert ds.resolve_path("/gone/lab/tracks/a.parquet") == tmp_path / "d" / "tracks" / "a.parquet"


def test_rewrite_index_paths_and_make_portable(tmp_path):
    ds = Dataset.create(tmp_path / "d")
    folder = ds.folder
    idx = ds.get_root("tracks") / "index.csv"
    (ds.get_root("tracks") / "g__s.parquet").write_bytes(b"x")
    df = pd.DataFrame(
        [
            {
                "group": "g",
                "sequence": "s",
                "group_safe": "g",
                "sequence_safe": "s",
                "abs_path": "/old/place/tracks/g__s.parquet",
                "schema": "trex_v1",
                "src_format": "csv",
                "n_rows": 1,
                "n_frames": 1,
                "n_ids": 1,
                "fps": 30.0,
            },
            {
                "group": "g",
                "sequence": "t",
                "group_safe": "g",
                "sequence_safe": "t",
                "abs_path": "tracks/g__t.parquet",
                "schema": "trex_v1",
                "src_format": "csv",
                "n_rows": 1,
                "n_frames": 1,
                "n_ids": 1,
                "fps": 30.0,
            },
        ]
    )
    write_index(idx, df, TRACKS_INDEX)
    before = idx.read_bytes()
    report = ds.rewrite_index_paths({"/old/place": folder.as_posix()}, dry_run=True)
    assert report == {str(idx.resolve()): 1}
    assert idx.read_bytes() == before  # dry run writes nothing
    ds.rewrite_index_paths({"/old/place": folder.as_posix()})
    assert read_index(idx, TRACKS_INDEX)["abs_path"].tolist()[0] == (folder / "tracks" / "g__s.parquet").as_posix()
    first = ds.make_portable()
    assert first == {str(idx.resolve()): 1}
    assert read_index(idx, TRACKS_INDEX)["abs_path"].tolist() == ["tracks/g__s.parquet", "tracks/g__t.parquet"]
    after = idx.read_bytes()
    assert ds.make_portable() == {str(idx.resolve()): 0}
    assert idx.read_bytes() == after


def test_sequence_catalog_and_queries(dataset):
    pairs = [
        ("cohortA__day1", "mouse1__trial1"),
        ("cohortA__day2", "mouse2__trial1"),
        ("cohortB__day1", "mouse1__trial2"),
    ]
    _tracks_index(dataset, pairs)
    assert dataset.list_groups() == ["cohortA__day1", "cohortA__day2", "cohortB__day1"]
    assert dataset.list_sequences() == ["mouse1__trial1", "mouse1__trial2", "mouse2__trial1"]
    assert dataset.list_sequences("cohortA__day2") == ["mouse2__trial1"]
    meta = dataset.get_sequence_metadata(level_names=["cohort", "day", "mouse", "trial"])
    assert meta[["cohort", "day", "mouse", "trial"]].values.tolist() == [
        ["cohortA", "day1", "mouse1", "trial1"],
        ["cohortA", "day2", "mouse2", "trial1"],
        ["cohortB", "day1", "mouse1", "trial2"],
    ]
    default = dataset.get_sequence_metadata()
    assert list(default.columns[-4:]) == ["level_0", "level_1", "level_2", "level_3"]
    assert list(default.columns[:-4]) == list(TRACKS_INDEX.columns)  # the index columns too
    assert default["abs_path"].tolist() == [f"tracks/{to_safe_name(g)}__{to_safe_name(s)}.parquet" for g, s in pairs]
    assert default["group_safe"].tolist() == [to_safe_name(g) for g, _ in pairs] and default["n_rows"].tolist() == [
        1,
        1,
        1,
    ]
    with pytest.raises(ConfigError) as ei:
        dataset.get_sequence_metadata(level_names=["cohort", "day", "mouse"])
    assert "3 levels" in str(ei.value)
    q = dataset.query_sequences
    assert q(group_contains="A__") == [pairs[0], pairs[1]]
    assert q(group_startswith="cohortB") == [pairs[2]]
    assert q(group_endswith="day1") == [pairs[0], pairs[2]]
    assert q(sequence_contains="mouse1") == [pairs[0], pairs[2]]
    assert q(sequence_startswith="mouse2") == [pairs[1]]
    assert q(sequence_endswith="trial2") == [pairs[2]]
    assert q(group_endswith="day1", sequence_endswith="trial1") == [pairs[0]]
    assert q(group_contains="zzz") == []


def test_sequence_metadata_mixed_depth_names(dataset):
    pairs = [("arena1", "fish1"), ("arena1__day2", "fish2__trial3"), ("arena2__day1", "fish1")]
    _tracks_index(dataset, pairs)
    meta = dataset.get_sequence_metadata()
    assert meta[["group", "sequence"]].values.tolist() == [list(p) for p in pairs]
    assert [c for c in meta.columns if c.startswith("level_")] == ["level_0", "level_1", "level_2", "level_3"]
    assert meta[["level_0", "level_1", "level_2", "level_3"]].values.tolist() == [
        ["arena1", "fish1", None, None],
        ["arena1", "day2", "fish2", "trial3"],
        ["arena2", "day1", "fish1", None],
    ]
    with pytest.raises(ConfigError, match="expected number of levels"):
        dataset.get_sequence_metadata(level_names=["arena", "day", "fish"])


def test_sequence_catalog_without_tracks_index_is_named(dataset):
    with pytest.raises(IndexFileError) as ei:
        dataset.list_groups()
    assert "index.csv" in str(ei.value)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "mapping"),
        ("roots: {tracks: t, ../videos: v}\n", "not safe names"),
        ("roots: {tracks: t, 1: v}\n", "not safe names"),
        ("1: x\n", "keys must be strings"),
        ("dataset_type: weird\n", "dataset_type"),
        ("dataset_type: continuous\ntime_column: t\n", "segment_duration"),
        ("dataset_type: continuous\nsegment_duration: banana\ntime_column: t\n", "segment_duration"),
        ("dataset_type: continuous\nsegment_duration: 1h\n", "time_column"),
    ],
)
def test_corrupt_manifest_named(tmp_path, content, match):
    p = tmp_path / "dataset.yaml"
    p.write_text(content)
    with pytest.raises(ManifestError, match=match) as ei:
        Dataset.open(tmp_path)
    assert str(p) in str(ei.value)


def test_continuous_dataset_fields(tmp_path):
    Dataset.create(tmp_path / "c", dataset_type="continuous", segment_duration="1h", time_column="time")
    back = Dataset.open(tmp_path / "c")
    assert back.dataset_type == "continuous" and back.segment_seconds == 3600.0
    assert yaml.safe_load(back.manifest_path.read_text())["segment_duration"] == "1h"


def test_missing_manifest_named(tmp_path):
    with pytest.raises(ManifestError, match="no dataset manifest"):
        Dataset.open(tmp_path)


def test_open_on_class_and_load_on_instance_rereads(tmp_path):
    ds = Dataset.create(tmp_path / "l", name="first")
    with pytest.raises(TypeError, match=r"Dataset.open\(path\)"):
        Dataset.load(tmp_path / "l")
    other = Dataset.open(tmp_path / "l")
    assert isinstance(other, Dataset) and other.name == "first"
    other.name = "second"
    other.save()
    assert ds.load() is ds and ds.name == "second"
