"""Core: manifest, roots, paths, safe names, index I/O, errors, atomic writes and run ids.

``core`` imports no domain, no pipeline and no Kedro.
"""

from .atomic import atomic_open, atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text, is_temp_file
from .dataset import ROOT_KEYS, DatasetCore, parse_duration
from .errors import (
    BatchError,
    ConfigError,
    FeatureError,
    IndexFileError,
    IndexNotFoundError,
    InvalidNameError,
    LabelFormatError,
    ManifestError,
    MediaError,
    ModelError,
    MosaicError,
    RootNotSetError,
    SchemaError,
    SequenceNotFoundError,
    TrackFormatError,
    TracksNotFoundError,
)
from .indexes import TRACKS_INDEX, TRACKS_RAW_INDEX, IndexSchema, read_index, upsert_index, write_index
from .run_ids import file_fingerprint, make_run_id
from .safe_names import from_safe_name, sequence_key, split_sequence_key, to_safe_name

__all__ = [
    "ROOT_KEYS",
    "BatchError",
    "ConfigError",
    "DatasetCore",
    "FeatureError",
    "IndexFileError",
    "IndexNotFoundError",
    "IndexSchema",
    "InvalidNameError",
    "LabelFormatError",
    "ManifestError",
    "MediaError",
    "ModelError",
    "MosaicError",
    "RootNotSetError",
    "SchemaError",
    "SequenceNotFoundError",
    "TRACKS_INDEX",
    "TRACKS_RAW_INDEX",
    "TrackFormatError",
    "TracksNotFoundError",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "file_fingerprint",
    "from_safe_name",
    "is_temp_file",
    "make_run_id",
    "parse_duration",
    "read_index",
    "sequence_key",
    "split_sequence_key",
    "to_safe_name",
    "upsert_index",
    "write_index",
]
