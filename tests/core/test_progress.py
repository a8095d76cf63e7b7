"""Progress bars: automatic (terminal only), forced on, or silenced by MOSAIC_PROGRESS=0."""

from __future__ import annotations

import io

from mosaic.core import progress as prog


def test_env_silences_and_override_wins(monkeypatch):
    monkeypatch.setenv("MOSAIC_PROGRESS", "0")
    assert prog.progress(range(3), desc="x").disable is True
    prog.set_progress(True)
    try:
        buf = io.StringIO()
        bar = prog.progress(range(3), desc="visible", file=buf)
        assert list(bar) == [0, 1, 2]
        bar.close()
        assert "visible" in buf.getvalue()
    finally:
        prog.set_progress(None)
    monkeypatch.delenv("MOSAIC_PROGRESS")
    # not a terminal (pytest captures output): tqdm's automatic mode stays quiet
    assert prog.progress(range(3), desc="auto", file=io.StringIO()).disable is True
