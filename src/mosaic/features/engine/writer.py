"""The streaming writer: a task's output chunks into one parquet file, atomically."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from mosaic.core.atomic import atomic_path
from mosaic.core.errors import FeatureError

if TYPE_CHECKING:
    from .tasks import _Task

#: streamed outputs: give freed memory back to the system every this many chunks
TRIM_EVERY_CHUNKS = 8


def _check_chunk(out: Any, task: _Task) -> None:
    if not isinstance(out, pd.DataFrame):
        raise FeatureError(
            f"feature {task.feature.name!r} did not return a DataFrame",
            group=task.group,
            sequence=task.sequence,
            found=type(out).__name__,
        )
    key = list(task.feature.output_key)
    missing = [k for k in key if k not in out.columns]
    if missing:
        raise FeatureError(
            f"feature {task.feature.name!r} output lacks key columns",
            group=task.group,
            sequence=task.sequence,
            expected=key,
            found=f"missing {missing}",
        )


def write_output(chunks: Iterable[pd.DataFrame], task: _Task, trim: tuple[int, int] | None) -> int:
    """Stream ``chunks`` into the task's parquet file (atomically); return the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mosaic.tracks.io import release_unused_memory

    info = {
        "feature": task.feature.name,
        "version": task.feature.version,
        "run_id": task.run_id,
        "group": task.group,
        "sequence": task.sequence,
        "params": task.feature.get_params(),
        "inputs": task.meta.get("inputs", []),
    }
    n_rows = 0
    writer = None
    streamed = not isinstance(chunks, (list, tuple))
    n_chunks = 0
    with atomic_path(task.out_path) as tmp:
        try:
            for df in chunks:
                _check_chunk(df, task)
                if trim is not None:
                    fr = df["frame"].to_numpy()
                    df = df[(fr >= trim[0]) & (fr <= trim[1])]
                table = pa.Table.from_pandas(df, preserve_index=False)  # numeric columns zero-copy
                if writer is None:
                    # the input and apply's temporaries are freed by now: hand their memory back
                    # before the writer allocates its buffers, so they do not stack on top of it
                    release_unused_memory()
                    md = dict(table.schema.metadata or {})
                    md[b"mosaic"] = json.dumps(info, default=str).encode("utf-8")
                    schema = table.schema.with_metadata(md)
                    # dictionary-encode the keys only: float feature columns gain nothing from it and it costs time
                    keys = [k for k in ("frame", "id", "id2") if k in table.column_names]
                    writer = pq.ParquetWriter(tmp, schema, compression="zstd", use_dictionary=keys)
                if not table.schema.equals(writer.schema, check_metadata=False):
                    try:
                        table = table.cast(writer.schema)
                    except (pa.ArrowInvalid, ValueError, TypeError) as exc:
                        raise FeatureError(
                            f"feature {task.feature.name!r} yielded chunks with different columns",
                            group=task.group,
                            sequence=task.sequence,
                            expected=str(writer.schema),
                            found=str(table.schema),
                        ) from exc
                writer.write_table(table)
                n_rows += len(df)
                n_chunks += 1
                if streamed and n_chunks % TRIM_EVERY_CHUNKS == 0:
                    # freed chunk temporaries fragment the heap, which creeps up over a long recording.
                    # Not every chunk: memory handed back is faulted in again by the next chunk (each
                    # chunk's table also stays alive until the next one replaces it, so the allocator
                    # reuses its pages instead of returning them: deleting it early made pairs ~25 % slower)
                    release_unused_memory()
            if writer is None:
                raise FeatureError(
                    f"feature {task.feature.name!r} produced no output table", group=task.group, sequence=task.sequence
                )
        finally:
            if writer is not None:
                writer.close()
            release_unused_memory()  # the writer's page buffers (arrow keeps them otherwise)
    return n_rows
