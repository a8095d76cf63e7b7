"""Run a list of feature steps (a "plan", e.g. from ``parameters_featurize.yml``) through the engine.

A plan is a list of steps::

    - key: kinematics            # unique name of the step (default: the feature name)
      feature: kinematics        # registered feature name
      params: {method: central}  # feature params (validated by the feature)
      inputs: [tracks]           # 'tracks', keys of earlier steps, or {feature: name, run_id: id}

Each step runs with :func:`mosaic.features.engine.run_feature`; the summary lists one entry per
step with its ``feature`` and ``run_id`` so a later step (e.g. training) loads exactly those runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError

from .base import TRACKS, Result
from .registry import make_feature

if TYPE_CHECKING:
    from .engine import FeatureRun

STEP_KEYS = ("key", "feature", "params", "inputs", "tracks_source")
RUN_KEYS = (
    "groups",
    "sequences",
    "overwrite",
    "parallel_workers",
    "parallel_mode",
    "overlap_frames",
    "filter_start_frame",
    "filter_end_frame",
    "filter_start_time",
    "filter_end_time",
    "dask_address",
    "tracks_source",
    "memory_limit",
)
PLAN_KEYS = ("steps",) + RUN_KEYS


def _resolve_inputs(step_key: str, inputs: Any, done: dict[str, Result]) -> list[Any] | None:
    if inputs is None:
        return None
    items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    out: list[Any] = []
    for it in items:
        if it == TRACKS:
            out.append(TRACKS)
        elif isinstance(it, str):
            if it not in done:
                raise ConfigError(
                    f"step {step_key!r}: input {it!r} is not an earlier step", expected=["tracks", *done], found=it
                )
            out.append(Result(done[it].feature, done[it].run_id))
        elif isinstance(it, Mapping) and set(it) <= {"feature", "run_id"} and "feature" in it:
            out.append(Result(str(it["feature"]), it.get("run_id")))
        else:
            raise ConfigError(
                f"step {step_key!r}: bad input", expected="'tracks', an earlier step key or {feature, run_id}", found=it
            )
    return out


@dataclass
class PlannedStep:
    """One step of a feature plan: its key, its planned run and its inputs as written in the summary."""

    key: str
    run: FeatureRun
    inputs: list[Any]

    def summary(self) -> dict[str, Any]:
        """The step's summary entry (known before it runs; paths relative to the dataset folder)."""
        plan, ds = self.run.plan, self.run.ds
        return {
            "key": self.key,
            "feature": plan.feature.name,
            "run_id": plan.run_id,
            "version": plan.feature.version,
            "params": plan.feature.get_params(),
            "inputs": self.inputs,
            "n_sequences": len(plan.out_paths),
            "paths": [ds.relative_path(p) for p in plan.out_paths.values()],
        }


@dataclass
class FeatureStepsBatch:
    """Every step of a feature plan, planned (run ids and outputs known), nothing computed.

    :meth:`run` executes and records the steps in order (each with :meth:`FeatureRun.run`, the
    loop of :func:`~mosaic.features.engine.run_feature`) and returns the summary. The facade's
    :func:`run_feature_plan` runs it at once; the Kedro ``featurize`` node returns it and the
    ``features@runs`` catalog entry runs it on save.
    """

    steps: list[PlannedStep]

    def summary(self) -> dict[str, Any]:
        """``{'results': [...]}``, one entry per step (see :func:`run_feature_plan`)."""
        return {"results": [st.summary() for st in self.steps]}

    def run(self) -> dict[str, Any]:
        """Compute and record every step in order; return :meth:`summary`."""
        for st in self.steps:
            st.run.run()
        return self.summary()


def run_feature_plan(ds: DatasetCore, plan: Mapping[str, Any], registry: Any = None) -> dict[str, Any]:
    """Run every step of ``plan`` in order and return a JSON-friendly summary.

    Parameters
    ----------
    ds
        The dataset.
    plan
        ``{'steps': [...], <run_feature keyword>: value, ...}``; the keywords (``groups``,
        ``parallel_mode``, ``overwrite``, ...) apply to every step.
    registry
        Optional feature registry mapping.

    Returns
    -------
    dict
        ``{'results': [{'key', 'feature', 'run_id', 'version', 'params', 'inputs', 'n_sequences', 'paths'}]}``
        with paths relative to the dataset folder.

    Raises
    ------
    ConfigError
        Unknown plan or step keys, duplicate step keys, inputs that name no earlier step.
    """
    return plan_feature_steps(ds, plan, registry).run()


def plan_feature_steps(ds: DatasetCore, plan: Mapping[str, Any], registry: Any = None) -> FeatureStepsBatch:
    """Validate ``plan`` and plan every step (see :func:`run_feature_plan`); nothing is computed or written.

    A step that takes an earlier step as input is planned on that step's planned outputs.
    """
    from .engine import plan_feature

    steps, run_kwargs = _check_plan(plan)
    done: dict[str, Result] = {}
    planned: dict[tuple[str, str], Any] = {}
    out = []
    for i, step in enumerate(steps):
        key = _check_step(i, step, done)
        inputs = _resolve_inputs(key, step.get("inputs"), done)
        feat = make_feature(
            {
                "name": step["feature"],
                "params": step.get("params") or {},
                **({"inputs": inputs} if inputs is not None else {}),
            },
            registry,
        )
        step_kwargs = {**run_kwargs, **({"tracks_source": step["tracks_source"]} if step.get("tracks_source") else {})}
        run = plan_feature(ds, feat, registry=registry, planned=planned, **step_kwargs)
        done[key] = run.result()
        planned[(run.plan.feature.name, run.plan.run_id)] = run.plan
        out.append(
            PlannedStep(
                key,
                run,
                [it if it == TRACKS else {"feature": it.feature, "run_id": it.run_id} for it in (inputs or [TRACKS])],
            )
        )
    return FeatureStepsBatch(out)


def _check_plan(plan: Any) -> tuple[list[Any], dict[str, Any]]:
    if not isinstance(plan, Mapping):
        raise ConfigError(
            "the featurize plan must be a mapping", expected=f"keys {list(PLAN_KEYS)}", found=type(plan).__name__
        )
    unknown = sorted(set(plan) - set(PLAN_KEYS))
    if unknown:
        raise ConfigError("unknown featurize parameter(s)", expected=f"allowed keys {list(PLAN_KEYS)}", found=unknown)
    steps = plan.get("steps") or []
    if not isinstance(steps, (list, tuple)):
        raise ConfigError("featurize 'steps' must be a list", found=type(steps).__name__)
    return list(steps), {k: plan[k] for k in RUN_KEYS if k in plan and plan[k] is not None}


def _check_step(i: int, step: Any, done: Mapping[str, Result]) -> str:
    if not isinstance(step, Mapping) or "feature" not in step:
        raise ConfigError(
            f"featurize step {i} must be a mapping with 'feature'", expected=f"keys {list(STEP_KEYS)}", found=step
        )
    bad = sorted(set(step) - set(STEP_KEYS))
    if bad:
        raise ConfigError(
            f"featurize step {i} has unknown key(s)", expected=f"allowed keys {list(STEP_KEYS)}", found=bad
        )
    key = str(step.get("key") or step["feature"])
    if key in done:
        raise ConfigError("duplicate featurize step key", expected="unique 'key' per step", found=key)
    return key


def results_from_summary(summary: Mapping[str, Any]) -> dict[str, Result]:
    """``{step key: Result}`` from a :func:`run_feature_plan` summary (e.g. the ``feature_results`` JSON)."""
    return {r["key"]: Result(r["feature"], r["run_id"]) for r in summary.get("results", [])}
