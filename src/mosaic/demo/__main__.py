"""``python -m mosaic.demo <folder> [--size tiny] [--seed 0] [--overwrite] [--no-videos]``."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from .dataset import SIZES, make_demo_dataset


def main(argv: list[str] | None = None) -> int:
    """Build a demo dataset from the command line; return the exit code."""
    ap = argparse.ArgumentParser(prog="python -m mosaic.demo", description="Create the mosaic demo dataset.")
    ap.add_argument("folder", help="dataset folder to create")
    ap.add_argument("--size", default="tiny", choices=sorted(SIZES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--overwrite", action="store_true", help="rebuild an existing demo")
    ap.add_argument("--no-videos", action="store_true", help="skip rendering the videos")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.perf_counter()
    ds = make_demo_dataset(
        args.folder, size=args.size, seed=args.seed, overwrite=args.overwrite, videos=not args.no_videos
    )
    print(f"demo dataset ready at {ds.folder} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
