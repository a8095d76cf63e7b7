"""MkDocs hook: put the generated converter reference where a page says ``<!-- converter-parameters -->``.

The reference is rendered by :func:`mosaic.converter_docs.converters_markdown` from the
``PARAMETERS`` mappings the converters themselves use, so it cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

MARKER = "<!-- converter-parameters -->"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    src = str(Path(config["config_file_path"]).resolve().parent / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    from mosaic.converter_docs import converters_markdown

    return markdown.replace(MARKER, converters_markdown(heading_level=3))
