"""The optional formats stay optional: the core install pulls none of their packages."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = {"xarray", "h5netcdf", "netcdf4", "pynwb", "ndx-pose", "hdmf", "sleap-io", "movement"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _closure(reqs: list[str]) -> set[str]:
    """Installed distributions a set of requirements pulls in (extras followed, environment markers honoured)."""
    seen: set[str] = set()
    todo = [(Requirement(r), frozenset(Requirement(r).extras)) for r in reqs]
    while todo:
        req, extras = todo.pop()
        name = _norm(req.name)
        if name in seen and not extras:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        for raw in dist.requires or []:
            sub = Requirement(raw)
            env_ok = sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in (extras or {""}))
            if env_ok:
                todo.append((sub, frozenset(sub.extras)))
    return seen


def test_base_dependencies_exclude_the_optional_formats():
    base = {_norm(Requirement(r).name) for r in _project()["dependencies"]}
    assert not base & OPTIONAL
    pulled = _closure(_project()["dependencies"])
    assert not pulled & OPTIONAL, sorted(pulled & OPTIONAL)


def test_extras_declare_them_and_tests_install_them():
    extras = _project()["optional-dependencies"]
    interop = {_norm(Requirement(r).name) for r in extras["interop"]}
    assert {"xarray", "h5netcdf", "pynwb", "ndx-pose", "sleap-io"} <= interop
    test = [Requirement(r) for r in extras["test"]]
    assert any(_norm(r.name) == "mosaic" and "interop" in r.extras for r in test)
    assert "movement" in {_norm(r.name) for r in test}


def test_importing_mosaic_loads_no_optional_package():
    code = (
        "import sys, mosaic, mosaic.facade, mosaic.interop, mosaic.tracks.converters as c; "
        "c.list_converters(); from mosaic import Dataset; "
        "bad = [m for m in ('xarray', 'pynwb', 'sleap_io', 'ndx_pose', 'movement', 'h5netcdf') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
