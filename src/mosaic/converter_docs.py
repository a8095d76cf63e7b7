"""The converter reference of the documentation, generated from the converters' parameter specs.

Every registered tracks converter (:func:`mosaic.tracks.converters.converter_parameters`) and
label converter (:func:`mosaic.labels.registry.label_converter_parameters`) is listed with each
parameter, its default and its meaning, read from the ``PARAMETERS`` mapping its code uses. The
documentation build inserts :func:`converters_markdown` into the format reference page.
"""

from __future__ import annotations

import inspect
import sys

from mosaic.core.params import markdown_table

__all__ = ["converters_markdown"]


def _summary(func) -> str:
    module = sys.modules.get(getattr(func, "__module__", "") or "")
    doc = inspect.getdoc(module) or inspect.getdoc(func) or ""
    first = doc.split("\n\n")[0]
    return " ".join(first.split())


def converters_markdown(heading_level: int = 3) -> str:
    """Markdown sections: one per registered converter (tracks, then labels) with its parameter table."""
    from mosaic.labels.registry import get_label_converter, label_converter_parameters, list_label_converters
    from mosaic.tracks.converters import converter_parameters, get_converter, list_converters

    h = "#" * heading_level
    intro = (
        "Parameters go in `convert_all_tracks(params=...)` (or `convert.params` of the Kedro parameters): "
        "scalars apply to every format, a block `{<src_format>: {...}}` to one format (`dlc` also covers "
        "`dlc_csv`/`dlc_h5`).\n"
    )
    out = [f"{h} Tracks converters (`src_format`)\n", intro]
    seen: dict[object, str] = {}
    for name in list_converters():
        func = get_converter(name)
        if func in seen.values():
            alias = next(k for k, f in seen.items() if f is func)
            out.append(f"{h}# Tracks: `{name}`\n\nSame converter and parameters as `{alias}`.\n")
            continue
        seen[name] = func
        out.append(f"{h}# Tracks: `{name}`\n\n{_summary(func)}\n\n{markdown_table(converter_parameters(name))}")
    out.append(f"{h} Label converters (`source_format`)\n")
    out.append("Parameters go in `convert_all_labels(params=...)` (or `label.params` of the Kedro parameters).\n")
    for fmt in sorted({f for f, _ in list_label_converters()}):
        func = get_label_converter(fmt, "*")
        out.append(f"{h}# Labels: `{fmt}`\n\n{_summary(func)}\n\n{markdown_table(label_converter_parameters(fmt))}")
    return "\n".join(out)
