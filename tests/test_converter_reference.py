"""The converter reference of the docs is generated from the converters' own parameter specs, and lists them all."""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path

import pytest

from mosaic.converter_docs import converters_markdown
from mosaic.core.params import format_default
from mosaic.labels.registry import label_converter_parameters, list_label_converters
from mosaic.tracks.converters import converter_parameters, get_converter, list_converters

PROJECT = Path(__file__).resolve().parents[1]


def _section(md: str, name: str, domain: str = "Tracks") -> str:
    start = md.index(f"#### {domain}: `{name}`")
    nxt = md.find("\n#### ", start + 1)
    return md[start : nxt if nxt > 0 else len(md)]


def _params_read(module) -> set[str]:
    """Parameter names a converter module reads: params.get("x"), params["x"], helper(params, "x"), ("x", MODES)."""
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            f = node.func
            if (
                isinstance(f, ast.Attribute)
                and f.attr == "get"
                and isinstance(f.value, ast.Name)
                and f.value.id == "params"
            ):
                names.add(node.args[0].value)
        if (
            isinstance(node, ast.Call)
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "params"
        ):
            if isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                names.add(node.args[1].value)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "params":
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                names.add(node.slice.value)
        if (
            isinstance(node, ast.Tuple)
            and len(node.elts) == 2
            and isinstance(node.elts[0], ast.Constant)
            and isinstance(node.elts[1], ast.Name)
            and node.elts[1].id.endswith("_MODES")
        ):
            names.add(node.elts[0].value)
    return names


@pytest.mark.parametrize("name", list_converters())
def test_every_tracks_converter_parameter_is_specified_and_documented(name):
    spec = converter_parameters(name)
    module = sys.modules[get_converter(name).__module__]
    read = _params_read(module)
    assert {"fps", "cm_per_pixel"} <= set(spec)
    assert read <= set(spec), f"{name} reads parameters its spec does not document: {sorted(read - set(spec))}"
    md = converters_markdown()
    sec = _section(md, name)
    if "Same converter and parameters as" in sec:
        alias = re.search(r"as `([^`]+)`", sec).group(1)
        assert get_converter(alias) is get_converter(name)
        sec = _section(md, alias)
    for pname, p in spec.items():
        assert f"| `{pname}` | `{format_default(p.default)}` |" in sec, (name, pname)


@pytest.mark.parametrize("fmt", sorted({f for f, _ in list_label_converters()}))
def test_every_label_converter_parameter_is_documented(fmt, dataset):
    spec = label_converter_parameters(fmt)
    sec = _section(converters_markdown(), fmt, "Labels")
    for pname, p in spec.items():
        assert f"| `{pname}` | `{format_default(p.default)}` |" in sec, (fmt, pname)
    # the spec is what the converter accepts: any other key is refused, naming the known ones
    from mosaic.core.errors import ConfigError
    from mosaic.labels.registry import get_label_converter

    with pytest.raises(ConfigError) as ei:
        get_label_converter(fmt, "behavior")(dataset, "behavior", {"not_a_parameter": 1})
    assert all(k in str(ei.value) for k in spec if k != "on_issue")


def test_boris_parameters_users_need_are_in_the_reference():
    md = converters_markdown()
    for word in ("sequence_map", "default_group", "media_offsets", "subject_map", "pair_behaviors"):
        assert f"| `{word}` |" in _section(md, "boris_csv", "Labels"), word


def _table(path: Path, fmt_col: int, where_col: int) -> dict[str, str]:
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) <= max(fmt_col, where_col) or not cells[where_col].startswith("`"):
            continue
        for fmt in re.findall(r"`([a-z0-9_]+)`", cells[fmt_col]):
            rows[fmt] = cells[where_col].strip("`")
    return rows


def test_readme_and_own_data_agree_on_the_folder_layout():
    readme = _table(PROJECT / "README.md", 2, 1)
    own = _table(PROJECT / "docs" / "own-data.md", 3, 2)
    formats = {n for n in list_converters() if n not in ("dlc_csv", "dlc_h5")}
    assert formats <= set(readme), sorted(formats - set(readme))
    assert formats <= set(own), sorted(formats - set(own))
    for fmt in sorted(formats | {"boris_csv", "boris_project"}):
        assert readme[fmt].rstrip("/").split("/<sequence>")[0] == own[fmt].rstrip("/"), (fmt, readme[fmt], own[fmt])
