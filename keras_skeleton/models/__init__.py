"""Models; importing this package imports every module in it, which registers the models."""

import importlib
import pkgutil

from keras_skeleton.models.registry import describe_model, get_model, list_models, register_model  # noqa: F401

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "registry":
        importlib.import_module(f"{__name__}.{_module.name}")
