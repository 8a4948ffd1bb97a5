"""Official checkpoint importers; every module in this package registers its model families."""

import importlib
import pkgutil

from keras_skeleton.importers.base import (CheckpointError, StateDict, assign, get_importer,  # noqa: F401
                                           register_importer, torch_conv_kernel)

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")
