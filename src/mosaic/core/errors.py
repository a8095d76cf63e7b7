"""Error types that speak to the user.

Every reader validates at the boundary and raises a :class:`MosaicError` subclass whose
message names the file, the (group, sequence), what was expected and what was found.
"""

from __future__ import annotations

from os import PathLike
from typing import Any


class MosaicError(Exception):
    """Base class of every error mosaic raises on purpose.

    Parameters
    ----------
    problem
        One sentence saying what is wrong.
    path
        The file or folder concerned, if any.
    group, sequence
        The recording concerned, if any.
    expected, found
        What the reader expected and what it found instead.
    hint
        What the user can do about it.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | PathLike | None = None,
        group: str | None = None,
        sequence: str | None = None,
        expected: Any = None,
        found: Any = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = None if path is None else str(path)
        self.group = group
        self.sequence = sequence
        self.expected = expected
        self.found = found
        self.hint = hint
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = [self.problem]
        if self.path is not None:
            parts.append(f"file: {self.path}")
        if self.group is not None or self.sequence is not None:
            parts.append(f"recording: ({self.group!r}, {self.sequence!r})")
        if self.expected is not None:
            parts.append(f"expected: {self.expected}")
        if self.found is not None:
            parts.append(f"found: {self.found}")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return " | ".join(parts)

    def __str__(self) -> str:  # KeyError subclasses would otherwise repr() the message
        return self._compose()

    def with_context(
        self, *, path: str | PathLike | None = None, group: str | None = None, sequence: str | None = None
    ) -> MosaicError:
        """Fill in the file and recording where the raiser did not know them; return ``self``."""
        if self.path is None and path is not None:
            self.path = str(path)
        if self.group is None and self.sequence is None:
            self.group, self.sequence = group, sequence
        self.args = (self._compose(),)
        return self


class ManifestError(MosaicError):
    """The dataset manifest (``dataset.yaml``/``.json``) is missing, unreadable or invalid."""


class RootNotSetError(MosaicError, KeyError):
    """A named root was asked for but the manifest does not define it."""


class IndexFileError(MosaicError):
    """An ``index.csv`` is missing, unreadable or lacks declared columns."""


class IndexNotFoundError(IndexFileError, FileNotFoundError):
    """An ``index.csv`` a step reads does not exist yet (also a :class:`FileNotFoundError`)."""


class InvalidNameError(MosaicError, ValueError):
    """A group/sequence name or a safe file name cannot be encoded or decoded."""


class SequenceNotFoundError(MosaicError, KeyError):
    """A (group, sequence) is not known to the dataset."""


class TracksNotFoundError(SequenceNotFoundError, FileNotFoundError):
    """A recording has no standardized track file and no raw source to convert (also a :class:`FileNotFoundError`)."""


class ConfigError(MosaicError, ValueError):
    """Parameters or a configuration are invalid (unknown key, wrong type or value)."""


class TrackFormatError(MosaicError):
    """A tracking file does not have the layout its format promises."""


class SchemaError(MosaicError):
    """A table does not satisfy a mosaic schema (e.g. ``trex_v1``)."""


class LabelFormatError(MosaicError):
    """A label/annotation file does not have the expected layout."""


class MediaError(MosaicError):
    """A video is unreadable, missing, or a frame request cannot be served."""


class FeatureError(MosaicError):
    """A feature cannot run: bad params, missing inputs or missing upstream run."""


class ModelError(MosaicError):
    """A model cannot be trained or applied with the given config and inputs."""


class NameCollisionError(ConfigError):
    """Naming rules would merge files of different recordings, or split one recording's files."""


class StaleOutputError(MosaicError):
    """Outputs no longer reflect their inputs (which changed since they were written)."""


class IdentityError(MosaicError):
    """A data file records another identity (recording, run) than the one it was asked for."""


def check_identity(
    path: str | PathLike, requested: dict[str, Any], recorded: dict[str, Any], what: str = "data file"
) -> None:
    """Raise :class:`IdentityError` when ``recorded`` contradicts ``requested``.

    Only keys present in both with a recorded value (not None, not ``""``) are compared, as
    strings: a file that records nothing about a key cannot contradict it.
    """
    clash = {
        k: (requested[k], recorded[k])
        for k in requested
        if k in recorded
        and recorded[k] not in (None, "")
        and requested[k] is not None
        and str(recorded[k]) != str(requested[k])
    }
    if clash:
        raise IdentityError(
            f"{what} belongs to another recording or run (the index points at the wrong file)",
            path=path,
            group=requested.get("group"),
            sequence=requested.get("sequence"),
            expected={k: v[0] for k, v in clash.items()},
            found={k: v[1] for k, v in clash.items()},
            hint="rebuild the index (re-run the step that wrote it) or fix its abs_path",
        )


class UnsafePickleError(MosaicError):
    """A pickled file names code (a class or function) or is not one this project wrote."""


class BatchError(MosaicError):
    """Some items of a batch failed; ``failures`` maps item to its error message."""

    def __init__(self, problem: str, failures: dict[str, str], **kwargs: Any) -> None:
        self.failures = dict(failures)
        listing = "; ".join(f"{k}: {v}" for k, v in self.failures.items())
        super().__init__(f"{problem} ({len(self.failures)} failed: {listing})", **kwargs)


class UnsafePathError(InvalidNameError):
    """An output path would leave its root (``..``, an absolute part, or a symbolic link pointing out)."""


class StorageError(MosaicError, OSError):
    """The file system refused a read or write (disk full, read-only, permission, name too long...)."""


class ResourceLimitError(MosaicError):
    """An input declares more data than it holds or than mosaic will allocate (a size bomb)."""
