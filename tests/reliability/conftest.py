"""Shared fixtures of the reliability tests: demo dataset templates built once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """A tiny demo dataset (no videos) with its raw tracks indexed; copy it, never modify it."""
    from tests.reliability.crash import build_template

    return build_template(tmp_path_factory.mktemp("tmpl") / "demo", videos=False)


@pytest.fixture(scope="session")
def demo_template_videos(tmp_path_factory):
    """The same tiny demo with rendered videos (built only when a test needs it)."""
    from tests.reliability.crash import build_template

    return build_template(tmp_path_factory.mktemp("tmplv") / "demo", videos=True)


def pytest_terminal_summary(terminalreporter):
    """Print how many hostile inputs were tried and how they ended, and the crash figures."""
    from collections import Counter

    try:
        from tests.reliability.test_hostile import OUTCOMES
    except ImportError:
        OUTCOMES = {}
    if OUTCOMES:
        by = Counter(OUTCOMES.values())
        readers = Counter(k.split("-")[0] for k in OUTCOMES)
        terminalreporter.write_line(
            f"hostile inputs tried: {len(OUTCOMES)} ({dict(by)}) over {len(readers)} readers: {dict(sorted(readers.items()))}"
        )
        try:
            from tests.reliability.hostile_env import OUTSIDE_TOUCHED
        except ImportError:
            OUTSIDE_TOUCHED = {}
        env = Counter(v for k, v in OUTCOMES.items() if k.startswith("env_"))
        if env:
            terminalreporter.write_line(
                f"environment cases (links out, FIFOs, bombs, long names, faults, roots): {sum(env.values())} "
                f"({dict(env)}), raw tracebacks {by.get('RAW', 0)}, "
                f"files touched outside the dataset {sum(len(v) for v in OUTSIDE_TOUCHED.values())}"
            )
    try:
        from tests.reliability.test_fuzz import FUZZED
    except ImportError:
        FUZZED = {}
    if FUZZED:
        terminalreporter.write_line(f"fuzzed damaged files: {sum(FUZZED.values())} over {len(FUZZED)} readers")
    try:
        from tests.reliability.test_crash import REPORTS
    except ImportError:
        REPORTS = []
    if REPORTS:
        kills = sum(r.kills for r in REPORTS)
        survived = sum(r.kills_survived for r in REPORTS)
        lost = sum(r.rows_lost for r in REPORTS)
        terminalreporter.write_line(
            f"crash harness: {kills} kills over {len(REPORTS)} stages, {survived} survived, rows lost {lost}, "
            f"reruns equal: {all(r.rerun_equal for r in REPORTS)}"
        )
