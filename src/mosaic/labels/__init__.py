"""Labels: behaviour annotations (BORIS exports and projects, CalMS21, custom) → ``individual_pair_v1``, and per-individual tags.

Source formats (``convert_all_labels(source_format=...)``): ``boris_csv`` (tabular/aggregated event
exports, CSV/TSV, every BORIS layout), ``boris_project`` (``.boris`` project files), ``calms21_npy``
and ``calms21_json``; more with :func:`register_label_converter` or :func:`convert_labels_custom`.

Public API (dataset-level functions take the dataset first):

* conversion: :func:`convert_all_labels` (one task per annotation file on the core executor:
  :class:`LabelConversionBatch`), :func:`convert_labels_custom`,
  :func:`list_label_converters`, :func:`register_label_converter`;
* queries: :func:`load_labels`, :func:`get_label_map`, :func:`get_labels_for_individual`,
  :func:`get_labels_at_frame` (dicts of arrays), :func:`get_labels_table` / :func:`events_table`
  (the table view), :func:`labels_to_dense`;
* per-individual tags: :func:`save_id_labels`, :func:`convert_id_tags_from_csv`, :func:`load_id_labels`;
* file format: :func:`write_label_npz`, :func:`read_label_npz`, :class:`LabelSet`,
  :func:`bouts_to_events`, :func:`events_to_bouts`, :data:`LABELS_INDEX`.
"""

from .batch import LabelConversionBatch
from .convert import (
    LabelConversionReport,
    convert_all_labels,
    convert_labels_custom,
    plan_label_conversion,
    write_conversion_report,
)
from .events import bouts_to_events, dense_to_events, events_to_bouts
from .id_tags import (
    convert_id_tags_from_csv,
    id_labels_path,
    load_id_labels,
    save_id_labels,
)
from .io import (
    LabelSet,
    existing_pairs,
    index_row,
    label_file_path,
    labels_dir,
    labels_index_path,
    read_label_npz,
    read_labels_index,
    save_label_sets,
    save_labels_index_rows,
    write_label_npz,
)
from .queries import (
    events_table,
    get_labels_at_frame,
    get_labels_for_individual,
    get_labels_table,
    label_path,
    labels_to_dense,
    load_labels,
)
from .registry import (
    ConverterOutput,
    get_label_converter,
    list_label_converters,
    register_label_converter,
)
from .schema import LABEL_FORMAT, LABELS_INDEX, NPZ_KEYS, validate_label_arrays
from .vocab import build_vocabulary, get_label_map

__all__ = [
    "LABELS_INDEX",
    "LABEL_FORMAT",
    "NPZ_KEYS",
    "ConverterOutput",
    "LabelConversionBatch",
    "LabelConversionReport",
    "LabelSet",
    "bouts_to_events",
    "build_vocabulary",
    "convert_all_labels",
    "convert_id_tags_from_csv",
    "convert_labels_custom",
    "dense_to_events",
    "events_table",
    "events_to_bouts",
    "existing_pairs",
    "get_label_converter",
    "get_label_map",
    "get_labels_at_frame",
    "get_labels_for_individual",
    "get_labels_table",
    "id_labels_path",
    "index_row",
    "label_file_path",
    "label_path",
    "labels_dir",
    "labels_index_path",
    "labels_to_dense",
    "list_label_converters",
    "load_id_labels",
    "load_labels",
    "plan_label_conversion",
    "read_label_npz",
    "read_labels_index",
    "register_label_converter",
    "save_id_labels",
    "save_label_sets",
    "save_labels_index_rows",
    "validate_label_arrays",
    "write_conversion_report",
    "write_label_npz",
]
