"""The feature contract: :class:`Feature`, its :class:`Inputs` and the :class:`Result` of a run.

A feature is scikit-learn-like: its parameters are set (and validated) in ``__init__``,
``get_params()`` returns them, an optional :meth:`Feature.fit` sees every sequence in scope
(global features: scaler, PCA, k-means), and :meth:`Feature.apply` turns one sequence's input
table into one output table keyed by ``(frame, id)`` (or ``(frame, id, id2)`` for pairs).

``apply`` receives a :class:`pandas.DataFrame` whose ``attrs`` carry the recording's facts:
``fps`` (frames per second, may be None), ``cm_per_pixel`` (None when unknown), ``group`` and
``sequence``. A feature can therefore be used on a plain DataFrame in a notebook too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from mosaic.core.errors import FeatureError
from mosaic.core.validate import check_physical, positive_number

TRACKS = "tracks"
KEY_INDIVIDUAL = ("frame", "id")
KEY_PAIR = ("frame", "id", "id2")


@dataclass(frozen=True)
class Result:
    """The outcome of one feature run, and the handle a downstream feature takes as input.

    Parameters
    ----------
    feature
        Registered feature name.
    run_id
        The run (``None`` = the latest run of ``feature`` when used as an input).
    paths
        Output parquet files of the run, one per (group, sequence), absolute.
    """

    feature: str
    run_id: str | None = None
    paths: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        """``{'feature', 'run_id', 'paths'}`` with paths as strings (JSON-friendly)."""
        return {"feature": self.feature, "run_id": self.run_id, "paths": [str(p) for p in self.paths]}


@dataclass(frozen=True)
class Inputs:
    """What a feature reads: ``"tracks"`` and/or upstream :class:`Result` s, joined on the key.

    ``Inputs(("tracks",))`` (the default) reads the standardized track file;
    ``Inputs((Result("speed"),))`` reads the latest run of ``speed``; several items are joined on
    ``(frame, id[, id2])`` (left join on the first item; clashing column names of later items
    get the prefix ``<feature>.``).
    """

    items: tuple = (TRACKS,)

    def __post_init__(self) -> None:
        items = self.items
        if isinstance(items, (str, Result)):
            items = (items,)
        items = tuple(items)
        if not items:
            raise FeatureError(
                "a feature needs at least one input", expected="'tracks' or Result(feature=...)", found="()"
            )
        for it in items:
            if not (it == TRACKS or isinstance(it, Result)):
                raise FeatureError(
                    "unknown feature input", expected="'tracks' or Result(feature=..., run_id=...)", found=repr(it)
                )
        object.__setattr__(self, "items", items)

    def __iter__(self) -> Iterator:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def uses_tracks(self) -> bool:
        """True when the track file is one of the inputs."""
        return TRACKS in self.items

    @property
    def results(self) -> tuple[Result, ...]:
        """The upstream results among the inputs."""
        return tuple(it for it in self.items if isinstance(it, Result))


def as_inputs(value: Any) -> Inputs:
    """Coerce ``None`` / ``'tracks'`` / a Result / a list of them / an :class:`Inputs` into Inputs."""
    if value is None:
        return Inputs()
    if isinstance(value, Inputs):
        return value
    if isinstance(value, (str, Result)):
        return Inputs((value,))
    if isinstance(value, Iterable):
        return Inputs(tuple(value))
    raise FeatureError("unknown feature input", expected="'tracks', Result or a list of them", found=repr(value))


class Feature:
    """Base class of every feature.

    Subclasses set the class attributes and implement :meth:`apply` (and :meth:`fit` for
    global features).

    Class attributes
    ----------------
    name : str
        Registry name; also the folder under the ``features`` root.
    version : str
        Bump when the output of the same params changes (it enters the run id).
    defaults : dict
        Allowed parameters and their default values; any other key is rejected.
    required_columns : tuple[str, ...]
        Input columns :meth:`apply` cannot do without (checked before it runs).
    optional_columns : tuple[str, ...]
        Track columns read when present (e.g. ``ANGLE``); ``'pose*'`` means every keypoint column.
    output_key : tuple[str, ...]
        ``('frame', 'id')`` or ``('frame', 'id', 'id2')``.
    parallelizable : bool
        False when sequences must be processed in the driver one after the other.
    default_inputs : Inputs
        Inputs used when none are given.

    Parameters
    ----------
    params
        Parameter overrides (a mapping); keyword arguments are merged on top.
    inputs
        ``'tracks'``, a :class:`Result`, a list of them or :class:`Inputs`.

    Raises
    ------
    FeatureError
        A parameter is unknown (the message lists the allowed keys) or invalid.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    defaults: ClassVar[dict[str, Any]] = {}
    required_columns: ClassVar[tuple[str, ...]] = ()
    optional_columns: ClassVar[tuple[str, ...]] = ()
    output_key: ClassVar[tuple[str, ...]] = KEY_INDIVIDUAL
    parallelizable: ClassVar[bool] = True
    default_inputs: ClassVar[Inputs] = Inputs()

    def __init__(self, params: Mapping[str, Any] | None = None, inputs: Any = None, **kwargs: Any) -> None:
        given = dict(params or {})
        given.update(kwargs)
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            raise FeatureError(
                f"unknown parameter(s) for feature {self.name!r}",
                expected=f"allowed keys {sorted(self.defaults)}",
                found=unknown,
            )
        merged = copy.deepcopy(self.defaults)
        merged.update(given)
        self.params: dict[str, Any] = merged
        self.inputs: Inputs = as_inputs(inputs) if inputs is not None else self.default_inputs
        check_physical(merged, error=FeatureError, where=f"feature {self.name!r}")  # fps > 0, windows >= 1, k >= 1, ...
        self.validate_params()

    # ------------------------------------------------------------------ contract
    def validate_params(self) -> None:
        """Check parameter values; raise :class:`FeatureError`. Override in subclasses."""

    def get_params(self) -> dict[str, Any]:
        """A copy of the parameters (defaults merged with overrides)."""
        return copy.deepcopy(self.params)

    def set_params(self, **params: Any) -> Feature:
        """Return a new feature with ``params`` changed (validated like ``__init__``)."""
        p = self.get_params()
        p.update(params)
        return type(self)(p, inputs=self.inputs)

    @property
    def needs_fit(self) -> bool:
        """True when the class overrides :meth:`fit` (a global feature)."""
        return type(self).fit is not Feature.fit

    def fit(self, scope: Iterable[pd.DataFrame]) -> Feature:
        """Learn state from every sequence in scope (input tables, loaded lazily); stateless features keep this."""
        return self

    def fitted_state(self) -> dict[str, Any]:
        """JSON-friendly fitted state (stored beside the run's outputs); empty when stateless."""
        return {}

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        """Compute the feature for one sequence; return a table keyed by :attr:`output_key`.

        Every concrete feature overrides this; the base class only names the contract.
        """
        raise FeatureError(
            f"feature {self.name!r} defines no apply()",
            expected="a Feature subclass overriding apply(data)",
            found=type(self).__name__,
        )

    def apply_chunks(self, data: pd.DataFrame) -> Iterator[pd.DataFrame]:
        """The output of :meth:`apply` as consecutive chunks (frame order) of the same columns.

        The engine writes each chunk as it comes (bounded memory). The default yields
        ``apply(data)`` whole; features with large outputs (pairs) override it and define
        ``apply`` as the concatenation.
        """
        yield self.apply(data)

    def frame_halo(self) -> int | None:
        """Frames of context each side a block of frames needs to match one pass (None: never split)."""
        return None

    def track_columns(self, available: Iterable[str]) -> list[str]:
        """Track-file columns to read, given the file's columns (required + optional present)."""
        available = list(available)
        want = ["frame", "id"] + [c for c in self.required_columns if c not in ("frame", "id")]
        for c in self.optional_columns:
            if c == "pose*":
                want += [a for a in available if a.startswith(("poseX", "poseY", "poseP"))]
            elif c in available:
                want.append(c)
        return list(dict.fromkeys(want))

    # ------------------------------------------------------------------ helpers
    def check_columns(self, data: pd.DataFrame, columns: Iterable[str] | None = None) -> None:
        """Raise :class:`FeatureError` naming the recording when ``data`` lacks ``columns``."""
        need = list(columns if columns is not None else self.required_columns)
        missing = [c for c in need if c not in data.columns]
        if missing:
            raise FeatureError(
                f"feature {self.name!r} lacks input columns",
                group=data.attrs.get("group"),
                sequence=data.attrs.get("sequence"),
                path=data.attrs.get("path"),
                expected=need,
                found=f"missing {missing}",
            )

    def fps_of(self, data: pd.DataFrame) -> float:
        """The frame rate from ``data.attrs['fps']``; :class:`FeatureError` when unknown."""
        fps = data.attrs.get("fps")
        ctx = {"group": data.attrs.get("group"), "sequence": data.attrs.get("sequence"), "path": data.attrs.get("path")}
        if fps is None:
            raise FeatureError(
                f"feature {self.name!r} needs the frame rate",
                **ctx,
                expected="fps > 0 in tracks/index.csv, the track file metadata or meta['fps_default']",
                found=fps,
            )
        return positive_number(
            fps,
            "fps",
            error=FeatureError,
            **ctx,
            hint="fix fps in tracks/index.csv, the track file metadata or meta['fps_default']",
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"


@dataclass
class SequenceContext:
    """Facts about one recording handed to :meth:`Feature.apply` through ``DataFrame.attrs``."""

    group: str
    sequence: str
    fps: float | None = None
    cm_per_pixel: float | None = None
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def attrs(self) -> dict[str, Any]:
        """The ``attrs`` mapping set on the input table."""
        return {
            "group": self.group,
            "sequence": self.sequence,
            "fps": self.fps,
            "cm_per_pixel": self.cm_per_pixel,
            "path": self.path,
            **self.extra,
        }


PROTOCOL_ATTRIBUTES = ("name", "version", "params", "inputs")
PROTOCOL_METHODS = ("fit", "apply")


def implements_feature_protocol(obj: Any) -> bool:
    """True when ``obj`` (an instance) has ``name``, ``version``, ``params``, ``inputs``, ``fit`` and ``apply``."""
    if isinstance(obj, type):
        return False
    return all(hasattr(obj, a) for a in PROTOCOL_ATTRIBUTES) and all(
        callable(getattr(obj, m, None)) for m in PROTOCOL_METHODS
    )


class ProtocolFeature(Feature):
    """A :class:`Feature` around any object implementing the feature protocol.

    The protocol: ``name`` (str), ``version`` (str), ``params`` (mapping, JSON-able: it enters
    the run id), ``inputs`` (``'tracks'``, a :class:`Result`, a list of them, an :class:`Inputs`
    or None for the tracks), ``fit(scope)`` (called once with an iterable of the input tables
    of every sequence in scope, loaded lazily; a stateless object just returns) and
    ``apply(data) -> DataFrame``. Optional, read when present: ``output_key``,
    ``required_columns``, ``optional_columns`` (without them every track column is read),
    ``parallelizable``, ``fitted_state()``, ``apply_chunks(data)``.

    Raises
    ------
    FeatureError
        A protocol attribute has the wrong type.
    """

    def __init__(self, obj: Any) -> None:
        if not implements_feature_protocol(obj):
            missing = [a for a in PROTOCOL_ATTRIBUTES if not hasattr(obj, a)] + [
                m for m in PROTOCOL_METHODS if not callable(getattr(obj, m, None))
            ]
            raise FeatureError(
                "object does not implement the feature protocol",
                expected=list(PROTOCOL_ATTRIBUTES + PROTOCOL_METHODS),
                found=f"{type(obj).__name__} lacks {missing}",
            )
        self.obj = obj
        if not isinstance(obj.name, str) or not obj.name:
            raise FeatureError(
                "a feature's name must be a non-empty string", found=f"{type(obj).__name__}.name = {obj.name!r}"
            )
        if not isinstance(obj.params, Mapping):
            raise FeatureError(f"params of feature {obj.name!r} must be a mapping", found=type(obj.params).__name__)
        self.name = obj.name
        self.version = str(obj.version)
        self.params = dict(obj.params)
        self.inputs = as_inputs(obj.inputs)
        self.output_key = tuple(getattr(obj, "output_key", KEY_INDIVIDUAL))
        self.required_columns = tuple(getattr(obj, "required_columns", ()))
        self.optional_columns = tuple(getattr(obj, "optional_columns", ()))
        self.parallelizable = bool(getattr(obj, "parallelizable", True))

    @property
    def needs_fit(self) -> bool:
        """Always True: the object's ``fit`` is part of the protocol (a stateless one returns at once)."""
        return True

    def get_params(self) -> dict[str, Any]:
        """A copy of the object's parameters (as read when wrapped)."""
        return copy.deepcopy(self.params)

    def set_params(self, **params: Any) -> Feature:
        """Not supported: set parameters on the wrapped object and wrap it again."""
        raise FeatureError(
            f"feature {self.name!r} wraps a {type(self.obj).__name__}; set its parameters there", found=sorted(params)
        )

    def fit(self, scope: Iterable[pd.DataFrame]) -> Feature:
        """Call the object's ``fit`` with the lazily loaded input tables."""
        self.obj.fit(scope)
        return self

    def fitted_state(self) -> dict[str, Any]:
        """The object's ``fitted_state()`` when it has one, else empty."""
        fn = getattr(self.obj, "fitted_state", None)
        return dict(fn()) if callable(fn) else {}

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        """The object's ``apply``."""
        return self.obj.apply(data)

    def apply_chunks(self, data: pd.DataFrame) -> Iterator[pd.DataFrame]:
        """The object's ``apply_chunks`` when it has one, else its ``apply`` whole."""
        fn = getattr(self.obj, "apply_chunks", None)
        if callable(fn):
            yield from fn(data)
        else:
            yield self.obj.apply(data)

    def track_columns(self, available: Iterable[str]) -> list[str]:
        """Declared columns when the object declares any, else every column of the track file."""
        if self.required_columns or self.optional_columns:
            return super().track_columns(available)
        return list(dict.fromkeys(["frame", "id", *available]))

    def __repr__(self) -> str:
        return f"ProtocolFeature({self.obj!r})"
