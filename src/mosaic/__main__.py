"""``python -m mosaic``: run the Kedro project (same as ``kedro run``) or a mosaic command.

``python -m mosaic inventory [DATASET_DIR] [--json]`` prints what a dataset holds; every other
argument list goes to the project's Kedro CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

MOSAIC_COMMANDS = ("inventory",)


def _default_dataset_dir() -> str:
    """``MOSAIC_DATASET``, else ``dataset_dir`` of ``conf/local`` or ``conf/base`` ``globals.yml``, else ``data/demo``."""
    env = os.environ.get("MOSAIC_DATASET")
    if env:
        return env
    import yaml

    from mosaic.kedro_config import project_dir

    for env_name in ("local", "base"):
        p = project_dir() / "conf" / env_name / "globals.yml"
        if p.is_file():
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            if isinstance(data, dict) and data.get("dataset_dir"):
                return str(data["dataset_dir"])
    return "data/demo"


def inventory_command(argv: list[str]) -> int:
    """``inventory [DATASET_DIR] [--json]``: print the dataset inventory; return the exit code."""
    from mosaic.core.dataset import DatasetCore
    from mosaic.core.errors import MosaicError
    from mosaic.kedro_config import resolve_dataset_dir
    from mosaic.reporting.inventory import inventory
    from mosaic.reporting.inventory_text import format_inventory

    parser = argparse.ArgumentParser(
        prog="python -m mosaic inventory", description="Print what a mosaic dataset folder holds."
    )
    parser.add_argument(
        "dataset_dir",
        nargs="?",
        default=None,
        help="dataset folder (default: $MOSAIC_DATASET, else dataset_dir in conf/*/globals.yml)",
    )
    parser.add_argument("--json", action="store_true", help="print the inventory as JSON")
    args = parser.parse_args(argv)
    folder = resolve_dataset_dir(args.dataset_dir or _default_dataset_dir())
    try:
        ds = DatasetCore.open(folder)
        inv = inventory(ds)
    except MosaicError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if not folder.exists():
            print(
                "the folder does not exist: `kedro run` creates the demo dataset at the configured dataset_dir, "
                "or pass the folder of your dataset",
                file=sys.stderr,
            )
        return 2
    try:
        print(json.dumps(inv, indent=2, default=str) if args.json else format_inventory(inv))
        sys.stdout.flush()
    except BrokenPipeError:  # `python -m mosaic inventory | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def main(*args, **kwargs):
    """Entry point: a mosaic command (``inventory``), else the project's ``kedro`` CLI."""
    argv = list(args[0]) if args and isinstance(args[0], (list, tuple)) else sys.argv[1:]
    if argv and argv[0] in MOSAIC_COMMANDS:
        code = inventory_command(argv[1:])
        if kwargs.get("standalone_mode", True) and not hasattr(sys, "ps1"):
            sys.exit(code)
        return code

    from kedro.framework.cli.utils import find_run_command
    from kedro.framework.project import configure_project

    package_name = Path(__file__).parent.name
    configure_project(package_name)
    interactive = hasattr(sys, "ps1")
    kwargs["standalone_mode"] = not interactive
    run = find_run_command(package_name)
    return run(*args, **kwargs)


if __name__ == "__main__":
    main()
