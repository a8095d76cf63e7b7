"""Model configuration: defaults, loading (dict / JSON / YAML file) and validation.

A config is a flat mapping; unknown keys are rejected with a :class:`ConfigError` that lists
the allowed ones. :func:`resolve_config` returns the full config (defaults merged), which is
what enters the run id and what is written to ``config.json`` beside the model.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mosaic.core.errors import ConfigError

KINDS = ("classifier", "kmeans", "ward")
ESTIMATORS = ("hist_gradient_boosting", "random_forest")
TARGETS = ("individual", "pair")
PAIR_REDUCTIONS = ("nearest", "min", "mean", "max")

DEFAULTS: dict[str, Any] = {
    # what to train
    "kind": "classifier",  # classifier | kmeans | ward
    "features": [],  # ["speed", "pair@<run_id>", {"feature": "pair", "run_id": None}]
    "feature_columns": None,  # keep only these columns (after prefixing "<feature>.<col>"); None = all numeric
    "groups": None,  # restrict the scope to these groups (None = all)
    "sequences": None,  # restrict the scope to these sequences (None = all)
    # rows and targets
    "target": "individual",  # individual: one row per (frame, id); pair: one row per (frame, id, id2)
    "pair_reduce": "auto",  # how pair features become per-(frame, id) columns: list of PAIR_REDUCTIONS or "auto"
    "pair_distance_column": None,  # column ranking partners for "nearest" (None = auto: first column named *dist*)
    "label_kind": "behavior",
    "background_label": "background",  # name of rows without a label; excluded from the macro F1
    "label_priority": None,  # optional list of label names; earlier wins when a row has several labels
    # classifier
    "estimator": "hist_gradient_boosting",  # or random_forest
    "estimator_params": {},
    "class_weight": "balanced",  # balanced | none
    "cv_folds": 5,
    "stratified": True,
    "holdout_groups": [],
    "min_bout": 0,  # frames; shorter predicted bouts are merged into their neighbours
    "max_train_rows": None,  # random subsample of training rows per fit (None = all)
    "n_threads": 1,  # OpenMP/BLAS threads while fitting/predicting (None = library default)
    # unsupervised
    "n_clusters": 6,
    "max_samples": 5000,  # Ward fits on at most this many rows, the rest by nearest centroid
    "standardize": True,
    # output
    "plots": True,
    "max_ethograms": 8,
    "seed": 0,
}

ALLOWED_KEYS = tuple(sorted(DEFAULTS))


def load_config(config: str | os.PathLike | Mapping[str, Any] | None) -> dict[str, Any]:
    """Read a config given as a mapping, a JSON/YAML file path, or None (empty).

    Raises
    ------
    ConfigError
        The file is missing or unreadable, or does not hold a mapping.
    """
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return copy.deepcopy(dict(config))
    path = Path(config)
    if not path.exists():
        raise ConfigError("model config file not found", path=path, expected="a JSON or YAML file, or a dict")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError("model config is not valid JSON/YAML", path=path, found=str(exc).splitlines()[0]) from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            "model config must be a mapping", path=path, expected="mapping of keys", found=type(data).__name__
        )
    return dict(data)


def parse_feature_spec(spec: Any) -> dict[str, Any]:
    """Normalise one feature input to ``{'feature': name, 'run_id': run_id or None}``.

    Accepts ``"name"``, ``"name@run_id"``, a mapping with ``feature`` (or ``name``), ``run_id``
    and an optional ``as`` (column prefix, default the feature name), or any object with ``feature`` and ``run_id`` attributes (a features ``Result``).
    """
    if isinstance(spec, str):
        name, _, rid = spec.partition("@")
        out = {"feature": name, "run_id": rid or None}
    elif isinstance(spec, Mapping):
        unknown = sorted(set(spec) - {"feature", "name", "run_id", "as"})
        if unknown:
            raise ConfigError("bad feature input", expected="keys feature (or name), run_id, as", found=unknown)
        out = {"feature": spec.get("feature", spec.get("name")), "run_id": spec.get("run_id")}
        if spec.get("as") is not None:
            if not isinstance(spec["as"], str) or not spec["as"]:
                raise ConfigError("feature input alias 'as' must be a non-empty string", found=repr(spec["as"]))
            out["as"] = spec["as"]
    elif hasattr(spec, "feature") and hasattr(spec, "run_id"):
        out = {"feature": spec.feature, "run_id": spec.run_id}
    else:
        raise ConfigError(
            "bad feature input", expected="'name', 'name@run_id', {'feature', 'run_id'} or a Result", found=repr(spec)
        )
    if not isinstance(out["feature"], str) or not out["feature"]:
        raise ConfigError("feature input lacks a name", expected="non-empty feature name", found=repr(spec))
    if out["run_id"] is not None:
        out["run_id"] = str(out["run_id"])
    return out


def _as_str_list(cfg: dict, key: str, allow_none: bool = True) -> None:
    v = cfg[key]
    if v is None and allow_none:
        return
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"config key {key!r} must be a list of strings", found=repr(v))
    cfg[key] = list(v)


def _check_choice(cfg: dict, key: str, choices) -> None:
    if cfg[key] not in choices:
        raise ConfigError(f"invalid value for config key {key!r}", expected=f"one of {list(choices)}", found=cfg[key])


def _check_int(cfg: dict, key: str, lo: int, allow_none: bool = False) -> None:
    v = cfg[key]
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ConfigError(f"config key {key!r} must be an integer >= {lo}", found=repr(v))


def _feature_inputs(feats: Any) -> list[dict[str, Any]]:
    """The ``features`` config key as a list of parsed feature inputs, each listed once."""
    if isinstance(feats, (str, Mapping)) or hasattr(feats, "run_id"):
        feats = [feats]
    if not isinstance(feats, (list, tuple)) or not feats:
        raise ConfigError(
            "config key 'features' must list at least one feature input",
            expected="['speed', 'pair', ...]",
            found=repr(feats),
        )
    specs = [parse_feature_spec(f) for f in feats]
    names = [(f["feature"], f["run_id"], f.get("as")) for f in specs]
    if len(set(names)) != len(names):
        raise ConfigError(
            "a feature input is listed twice in 'features'",
            found=[f["feature"] for f in specs],
            hint="give repeated features different run ids or aliases ('as')",
        )
    return specs


def _check_pair_reduce(cfg: dict) -> None:
    pr = cfg["pair_reduce"]
    if pr == "auto":
        pass
    else:
        if isinstance(pr, str):
            pr = [pr]
        if not isinstance(pr, (list, tuple)) or not pr or any(p not in PAIR_REDUCTIONS for p in pr):
            raise ConfigError(
                "invalid value for config key 'pair_reduce'",
                expected=f"'auto' or a list of {list(PAIR_REDUCTIONS)}",
                found=repr(cfg["pair_reduce"]),
            )
        cfg["pair_reduce"] = list(dict.fromkeys(pr))


def resolve_config(config: str | os.PathLike | Mapping[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """Merge ``config`` (and keyword overrides) over :data:`DEFAULTS` and validate.

    Raises
    ------
    ConfigError
        Unknown keys (the message lists the allowed keys) or invalid values.
    """
    cfg = _merged_config(config, overrides)
    _check_choices(cfg)
    cfg["features"] = _feature_inputs(cfg["features"])
    _check_pair_reduce(cfg)
    _check_names(cfg)
    _check_numbers_and_flags(cfg)
    return cfg


def _merged_config(
    config: str | os.PathLike | Mapping[str, Any] | None, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """A deep copy of :data:`DEFAULTS` updated with ``config`` and ``overrides`` (an estimator instance kept as given)."""
    given = load_config(config)
    given.update(overrides)
    path = config if isinstance(config, (str, os.PathLike)) else None
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            "unknown model config key(s)", path=path, expected=f"allowed keys {list(ALLOWED_KEYS)}", found=unknown
        )
    cfg = copy.deepcopy(DEFAULTS)
    instance = given.pop("estimator") if not isinstance(given.get("estimator", ""), str) else None
    cfg.update(copy.deepcopy(given))
    if instance is not None:  # an estimator/trainer instance is used as given (it may not copy)
        cfg["estimator"] = instance
    return cfg


def _check_choices(cfg: dict) -> None:
    """``kind``, ``estimator``, ``target`` and ``class_weight`` are among their choices (``class_weight`` None → 'none')."""
    _check_choice(cfg, "kind", KINDS)
    if isinstance(cfg["estimator"], str):
        _check_choice(cfg, "estimator", ESTIMATORS)
    else:
        from .estimators import describe_estimator

        describe_estimator(cfg["estimator"])  # raises ConfigError unless a classifier or a trainer
    _check_choice(cfg, "target", TARGETS)
    if cfg["class_weight"] is None:
        cfg["class_weight"] = "none"
    _check_choice(cfg, "class_weight", ("balanced", "none"))


def _check_names(cfg: dict) -> None:
    """Name lists become lists of strings; label names are non-empty strings; ``estimator_params`` a dict."""
    for key in ("feature_columns", "groups", "sequences", "label_priority"):
        _as_str_list(cfg, key)
    _as_str_list(cfg, "holdout_groups", allow_none=False)
    if not isinstance(cfg["label_kind"], str) or not cfg["label_kind"]:
        raise ConfigError("config key 'label_kind' must be a non-empty string", found=repr(cfg["label_kind"]))
    if not isinstance(cfg["background_label"], str) or not cfg["background_label"]:
        raise ConfigError(
            "config key 'background_label' must be a non-empty string", found=repr(cfg["background_label"])
        )
    if not isinstance(cfg["estimator_params"], Mapping):
        raise ConfigError("config key 'estimator_params' must be a mapping", found=repr(cfg["estimator_params"]))
    cfg["estimator_params"] = dict(cfg["estimator_params"])


def _check_numbers_and_flags(cfg: dict) -> None:
    """Integer keys within their bounds, boolean keys true/false, ``pair_distance_column`` a name or None."""
    _check_int(cfg, "cv_folds", 2)
    _check_int(cfg, "min_bout", 0)
    _check_int(cfg, "max_train_rows", 10, allow_none=True)
    _check_int(cfg, "n_clusters", 1)
    _check_int(cfg, "max_samples", 10)
    _check_int(cfg, "max_ethograms", 0)
    _check_int(cfg, "seed", 0)
    _check_int(cfg, "n_threads", 1, allow_none=True)
    for key in ("stratified", "standardize", "plots"):
        if not isinstance(cfg[key], bool):
            raise ConfigError(f"config key {key!r} must be true or false", found=repr(cfg[key]))
    if cfg["pair_distance_column"] is not None and not isinstance(cfg["pair_distance_column"], str):
        raise ConfigError(
            "config key 'pair_distance_column' must be a column name", found=repr(cfg["pair_distance_column"])
        )


def _snake(name: str) -> str:
    import re

    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def resolve_model(
    model: Any, config: str | os.PathLike | Mapping[str, Any] | None = None, name: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The model name and the resolved config of a ``train_model`` call.

    ``model`` is a model name (the estimator then comes from the config), a scikit-learn
    classifier instance or a trainer (see :class:`mosaic.models.estimators.Trainer`); an
    instance becomes the config's ``estimator`` and names the model by ``name``, else the
    trainer's ``name``, else its class name in snake case (``LogisticRegression`` →
    ``logistic_regression``).

    Raises
    ------
    ConfigError
        The config also names an estimator, or ``model`` is neither a name nor an estimator.
    """
    if isinstance(model, str):
        if name is not None and name != model:
            raise ConfigError("name given twice", expected="the model name once", found=[model, name])
        return model, resolve_config(config)
    from .estimators import describe_estimator, is_trainer

    describe_estimator(model)  # ConfigError for anything that is neither a classifier nor a trainer
    given = load_config(config)
    if "estimator" in given:
        raise ConfigError(
            "the estimator is given twice (model instance and config 'estimator')",
            path=config if isinstance(config, (str, os.PathLike)) else None,
            expected="either a model instance or config 'estimator'",
            found=given["estimator"],
        )
    if name is None:
        name = (
            str(model.name)
            if is_trainer(model) and isinstance(model.name, str) and model.name
            else _snake(type(model).__name__)
        )
    return name, resolve_config(given, estimator=model)


def config_json(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``cfg`` with an estimator instance replaced by its JSON identity (class and parameters)."""
    out = dict(cfg)
    if not isinstance(out.get("estimator"), str):
        from .estimators import describe_estimator

        out["estimator"] = describe_estimator(out["estimator"])
    return out
