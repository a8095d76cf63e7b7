"""The feature registry: names → feature classes, with lazy module imports.

Built-in features are listed as ``name -> "module:Class"`` strings; a module is imported only
when one of its features is used, so running ``speed`` never imports scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from mosaic.core.errors import FeatureError

from .base import Feature, ProtocolFeature, as_inputs, implements_feature_protocol

_P = "mosaic.features."
BUILTIN_FEATURES: dict[str, str] = {
    # kinematics (px, px/s, rad, rad/s)
    "kinematics": _P + "kinematics:Kinematics",
    "speed": _P + "kinematics:Speed",
    "acceleration": _P + "kinematics:Acceleration",
    "heading": _P + "kinematics:Heading",
    "angular_velocity": _P + "kinematics:AngularVelocity",
    "tortuosity": _P + "kinematics:Tortuosity",
    # body / pose
    "body_length": _P + "pose:BodyLength",
    "keypoint_distances": _P + "pose:KeypointDistances",
    "keypoint_angles": _P + "pose:KeypointAngles",
    # pairs (frame, id, id2)
    "pair": _P + "pair:PairFeatures",
    "pair_distance": _P + "pair:PairDistance",
    # social
    "nearest_neighbor": _P + "social:NearestNeighbor",
    "centroid_distance": _P + "social:CentroidDistance",
    "polarization": _P + "social:Polarization",
    # temporal (take an upstream Result)
    "rolling": _P + "temporal:Rolling",
    "lags": _P + "temporal:Lags",
    # global (fit over scope)
    "standard_scaler": _P + "globalfit:StandardScaler",
    "pca": _P + "globalfit:PCA",
    "kmeans": _P + "globalfit:KMeans",
}

_REGISTRY: dict[str, type[Feature] | str] = dict(BUILTIN_FEATURES)


def register_feature(
    cls: type[Feature] | str | None = None, *, name: str | None = None, target: str | None = None, replace: bool = False
):
    """Register a feature class (usable as a decorator) or a lazy ``"module:Class"`` target.

    Examples
    --------
    >>> @register_feature
    ... class MyFeature(Feature):
    ...     name = "my_feature"
    >>> register_feature(name="other", target="mypkg.features:Other")

    Raises
    ------
    FeatureError
        The name is taken (unless ``replace``) or missing.
    """

    def _do(obj: type[Feature] | str, nm: str | None) -> Any:
        nm = nm or (obj.name if isinstance(obj, type) else None)
        if not nm:
            raise FeatureError(
                "a registered feature needs a name", expected="class attribute `name` or name=...", found=repr(obj)
            )
        if nm in _REGISTRY and not replace and _REGISTRY[nm] is not obj:
            raise FeatureError(
                f"feature name {nm!r} is already registered", found=str(_REGISTRY[nm]), hint="pass replace=True"
            )
        _REGISTRY[nm] = obj
        return obj

    if target is not None:
        return _do(target, name)
    if cls is None:
        return lambda c: _do(c, name)
    return _do(cls, name)


def unregister_feature(name: str) -> None:
    """Remove ``name`` from the registry (built-ins come back with :func:`reset_registry`)."""
    _REGISTRY.pop(name, None)


def reset_registry() -> None:
    """Restore the built-in registry."""
    _REGISTRY.clear()
    _REGISTRY.update(BUILTIN_FEATURES)


def list_features(registry: Mapping[str, Any] | None = None) -> list[str]:
    """Sorted names of the registered features (nothing is imported)."""
    return sorted(registry if registry is not None else _REGISTRY)


def _load_target(target: str, name: str) -> type[Feature]:
    module, _, attr = target.partition(":")
    try:
        cls = getattr(import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise FeatureError(f"cannot import feature {name!r}", expected=target, found=str(exc)) from exc
    return cls


def get_feature_class(name: str, registry: Mapping[str, Any] | None = None) -> type[Feature]:
    """The class registered as ``name`` (importing its module now).

    Raises
    ------
    FeatureError
        Unknown name (the message lists the registered ones).
    """
    reg = registry if registry is not None else _REGISTRY
    if name not in reg:
        raise FeatureError(f"unknown feature {name!r}", expected=f"one of {sorted(reg)}", found=name)
    obj = reg[name]
    if isinstance(obj, str):
        obj = _load_target(obj, name)
        if registry is None:
            _REGISTRY[name] = obj
    return obj


def _as_feature(obj: Any) -> Feature:
    if isinstance(obj, Feature):
        return obj
    if implements_feature_protocol(obj):
        return ProtocolFeature(obj)
    raise FeatureError(
        "cannot make a feature from this",
        expected="a Feature or an object with name, version, params, inputs, fit, apply",
        found=repr(obj),
    )


def make_feature(spec: Any, registry: Mapping[str, Any] | None = None) -> Feature:
    """Build a feature from a name, a class, an instance, or ``{'name', 'params', 'inputs'}``.

    Besides :class:`Feature` subclasses, any object implementing the feature protocol
    (``name``, ``version``, ``params``, ``inputs``, ``fit``, ``apply``; see
    :class:`~mosaic.features.base.ProtocolFeature`) is accepted, as an instance or as a
    class (registered or given) constructed without arguments.
    """
    if isinstance(spec, Feature):
        return spec
    if isinstance(spec, type):
        if issubclass(spec, Feature):
            return spec()
        return _as_feature(spec())
    if isinstance(spec, str):
        return _as_feature(get_feature_class(spec, registry)())
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - {"name", "params", "inputs"})
        if unknown or "name" not in spec:
            raise FeatureError(
                "bad feature spec", expected="mapping with 'name' and optional 'params', 'inputs'", found=dict(spec)
            )
        cls = get_feature_class(spec["name"], registry)
        inputs = spec.get("inputs")
        return _as_feature(cls(spec.get("params") or {}, inputs=as_inputs(inputs) if inputs is not None else None))
    if implements_feature_protocol(spec):
        return ProtocolFeature(spec)
    raise FeatureError(
        "cannot make a feature from this",
        expected="name, Feature class/instance, an object with name, version, "
        "params, inputs, fit, apply, or a spec mapping",
        found=repr(spec),
    )
