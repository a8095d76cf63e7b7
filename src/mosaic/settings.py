"""Kedro project settings: config resolvers for the dataset folder, and the demo hook."""
from omegaconf.resolvers import oc

from mosaic.kedro_config import mosaic_root
from mosaic.hooks import DemoDatasetHook

HOOKS = (DemoDatasetHook(),)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {
        "oc.env": oc.env,  # only active for credentials otherwise
        "mosaic_root": mosaic_root,
    },
}
