"""The streaming writer: a task's output chunks into one parquet file, atomically.

Chunks are written as they come, in row groups of :data:`ROW_GROUP_ROWS` rows (the last one
shorter) whatever their sizes: the file's layout depends on its rows, not on how the feature
chunked them nor on the mode that ran the task, and at most one row group waits in memory.
(A row group is handed to the writer as slices of the chunks, not copied; a column chunk of
numbers up to 8 bytes wide fits one 1 MB data page at this size, so its bytes do not depend on
the chunk boundaries either — tested.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from mosaic.core.atomic import atomic_path
from mosaic.core.errors import FeatureError
from mosaic.core.executor import release_unused_memory

if TYPE_CHECKING:
    import pyarrow as pa

    from .tasks import _Task

#: rows per parquet row group of a feature output
ROW_GROUP_ROWS = 1 << 16
#: give freed memory back to the system every this many row groups written
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


def _file_info(task: _Task) -> dict[str, Any]:
    """What the file records about itself (its ``mosaic`` schema metadata)."""
    return {
        "feature": task.feature.name,
        "version": task.feature.version,
        "run_id": task.run_id,
        "group": task.group,
        "sequence": task.sequence,
        "params": task.feature.get_params(),
        "inputs": task.meta.get("inputs", []),
    }


class _RowGroupWriter:
    """Arrow tables in, row groups of ``rows`` rows out (one parquet file)."""

    def __init__(self, path: str, task: _Task, rows: int | None = None) -> None:
        self.path, self.task, self.rows = path, task, int(rows or ROW_GROUP_ROWS)
        self.writer: Any = None
        self.pending: list[pa.Table] = []
        self.n_pending = self.n_rows = self.n_groups = 0

    def _open(self, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        # the input and apply's temporaries are freed by now: hand their memory back
        # before the writer allocates its buffers, so they do not stack on top of it
        release_unused_memory()
        md = dict(table.schema.metadata or {})
        md[b"mosaic"] = json.dumps(_file_info(self.task), default=str).encode("utf-8")
        # dictionary-encode the keys only: float feature columns gain nothing from it and it costs time
        keys = [k for k in ("frame", "id", "id2") if k in table.column_names]
        self.writer = pq.ParquetWriter(
            self.path, table.schema.with_metadata(md), compression="zstd", use_dictionary=keys
        )

    def _conform(self, table: pa.Table) -> pa.Table:
        import pyarrow as pa

        if table.schema.equals(self.writer.schema, check_metadata=False):
            return table.replace_schema_metadata(None)  # chunks' pandas metadata may differ: the file's is set
        try:
            return table.cast(self.writer.schema).replace_schema_metadata(None)
        except (pa.ArrowInvalid, ValueError, TypeError) as exc:
            raise FeatureError(
                f"feature {self.task.feature.name!r} yielded chunks with different columns",
                group=self.task.group,
                sequence=self.task.sequence,
                expected=str(self.writer.schema),
                found=str(table.schema),
            ) from exc

    def add(self, table: pa.Table) -> None:
        """Queue ``table``; write every full row group."""
        if self.writer is None:
            self._open(table)
        table = self._conform(table)
        self.pending.append(table)
        self.n_pending += table.num_rows
        while self.n_pending >= self.rows:
            self._flush(self.rows)

    def _flush(self, n: int) -> None:
        """Write the first ``n`` pending rows as one row group (slices of the chunks: no copy)."""
        import pyarrow as pa

        queued = pa.concat_tables(self.pending) if len(self.pending) > 1 else self.pending[0]
        self.pending = [queued.slice(n)] if queued.num_rows > n else []
        self.n_pending = queued.num_rows - n
        group = queued.slice(0, n)
        del queued
        self.writer.write_table(group, row_group_size=max(1, n))
        self.n_rows += n
        self.n_groups += 1
        if self.n_groups % TRIM_EVERY_CHUNKS == 0:
            release_unused_memory()  # freed chunks fragment the heap over a long recording

    def finish(self) -> int:
        """Write the last (short) row group; the row count. An empty output is written as one empty table."""
        if self.writer is None:
            raise FeatureError(
                f"feature {self.task.feature.name!r} produced no output table",
                group=self.task.group,
                sequence=self.task.sequence,
            )
        if self.n_pending or not self.n_rows:
            if self.pending:
                self._flush(self.n_pending)
            else:
                self.writer.write_table(self.writer.schema.empty_table())
        return self.n_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.pending = []


def _as_table(df: pd.DataFrame, task: _Task, trim: tuple[int, int] | None) -> pa.Table:
    """One checked chunk as an arrow table (numeric columns zero-copy), trimmed to ``trim`` frames."""
    import pyarrow as pa

    _check_chunk(df, task)
    if trim is not None:
        fr = df["frame"].to_numpy()
        df = df[(fr >= trim[0]) & (fr <= trim[1])]
    return pa.Table.from_pandas(df, preserve_index=False)


def write_output(chunks: Iterable[pd.DataFrame], task: _Task, trim: tuple[int, int] | None) -> int:
    """Stream ``chunks`` into the task's parquet file (atomically); return the row count.

    Each chunk is checked (a DataFrame with the feature's key columns, the columns of the
    first chunk), trimmed to the ``trim`` frames (inclusive) when given, and written in row
    groups of :data:`ROW_GROUP_ROWS` rows.
    """
    with atomic_path(task.out_path) as tmp:
        sink = _RowGroupWriter(str(tmp), task)
        try:
            for df in chunks:
                sink.add(_as_table(df, task, trim))
                del df
            n_rows = sink.finish()
        finally:
            sink.close()
            release_unused_memory()  # the writer's page buffers (arrow keeps them otherwise)
    return n_rows
