"""Kedro project settings: config resolvers for the dataset folder and its sources, and the demo hook."""

from omegaconf.resolvers import oc

from mosaic.hooks import DemoDatasetHook
from mosaic.kedro_config import mosaic_root, mosaic_sources

HOOKS = (DemoDatasetHook(),)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/local (or -e ENV) blocks merge key by key into conf/base: a partial block such as
    # `sample_frames: {method: kmeans}` keeps every other key of the base block.
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
    "custom_resolvers": {
        "oc.env": oc.env,  # only active for credentials otherwise
        "mosaic_root": mosaic_root,
        "mosaic_sources": mosaic_sources,
    },
}
