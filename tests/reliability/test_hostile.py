"""Hostile input corpus: every reader meets truncated, empty, mislabelled and malformed files.

For each case (see :mod:`tests.reliability.hostile`): a ``MosaicError`` subclass naming the file
(or, for odd-but-readable inputs, a result that passes the output contract), never a raw
library exception, and nothing previously written changes (the dataset's outputs are hashed
before and after). The number of cases tried is printed in the terminal summary.
"""

from __future__ import annotations

import shutil
import traceback

import pytest

from mosaic.core.errors import MosaicError
from tests.reliability.crash import hash_tree
from tests.reliability.hostile import all_cases, names_file

CASES = all_cases()
OUTCOMES: dict[str, str] = {}


@pytest.fixture(scope="module")
def converted(demo_template, tmp_path_factory):
    """A demo dataset with converted tracks (outputs that must survive every hostile case)."""
    from mosaic import Dataset

    folder = tmp_path_factory.mktemp("hostile") / "demo"
    shutil.copytree(demo_template, folder)
    ds = Dataset.open(folder)
    ds.convert_all_tracks()
    try:
        from tests.reliability import hostile_more

        hostile_more.prepare_outputs(ds)
    except (ImportError, AttributeError):
        pass
    return ds


_DIGESTS: dict[tuple, str] = {}


def _outputs(ds):
    """``{relative path: sha256}`` of the dataset's files outside ``hostile/`` (cached by inode, size, mtime_ns)."""
    import hashlib

    out = {}
    for p in sorted(ds.folder.rglob("*")):
        rel = p.relative_to(ds.folder).as_posix()
        if rel.startswith("hostile/") or not p.is_file() or (p.name.startswith(".") and p.name.endswith(".lock")):
            continue
        st = p.stat()
        key = (rel, st.st_ino, st.st_size, st.st_mtime_ns)
        if key not in _DIGESTS:
            _DIGESTS[key] = hashlib.sha256(p.read_bytes()).hexdigest()
        out[rel] = _DIGESTS[key]
    return out


def _index_rows(ds):
    import pandas as pd

    rows = set()
    for idx in ds.index_files():
        df = pd.read_csv(idx, dtype=str, keep_default_na=False)
        rows |= {(str(idx), tuple(r)) for r in df.itertuples(index=False)}
    return rows


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case, converted):
    ds = converted
    folder = ds.folder / "hostile" / case.reader / case.name
    if folder.exists():
        shutil.rmtree(folder)
    path = case.build(folder)
    before, rows_before = _outputs(ds), _index_rows(ds)
    own_before = hash_tree(folder)
    try:
        result = case.call(ds, path)
    except MosaicError as exc:
        OUTCOMES[case.id] = "error"
        assert names_file(exc, path, case.names), f"{type(exc).__name__} does not name the file {path.name}: {exc}"
        assert _outputs(ds) == before, "a failed read changed previously written outputs"
        assert {k: v for k, v in hash_tree(folder).items() if k in own_before} == own_before, (
            "the bad input's own files changed"
        )
        return
    except Exception as exc:
        OUTCOMES[case.id] = "RAW"
        pytest.fail(f"raw {type(exc).__module__}.{type(exc).__name__} escaped: {exc}\n{traceback.format_exc()[-3000:]}")
    OUTCOMES[case.id] = "accepted"
    assert case.expect == "error_or_valid", f"bad input accepted without error (returned {result!r:.200})"
    if case.check is not None:
        case.check(ds, path, result)
    after = _outputs(ds)
    changed = [k for k in before if k in after and after[k] != before[k] and not k.endswith("index.csv")]
    assert changed == [], f"accepting a hostile input changed existing outputs: {changed}"
    assert rows_before - _index_rows(ds) <= {r for r in rows_before if "hostile" in str(r[1])}, "index rows lost"
