"""Model registry: ``list_models()`` and ``get_model(name, num_classes=..., layout=...)``."""

from __future__ import annotations

import inspect
from typing import Callable, Dict, List

_MODELS: Dict[str, Callable] = {}
_DESCRIPTIONS: Dict[str, str] = {}


def register_model(name: str, description: str = ""):
    """Decorator registering a builder ``fn(num_classes, layout, num_persons, num_frames, ...) -> keras.Model``."""

    def decorator(builder):
        if name in _MODELS:
            raise ValueError(f"model '{name}' registered twice")
        _MODELS[name] = builder
        _DESCRIPTIONS[name] = description or (builder.__doc__ or "").strip().splitlines()[0]
        return builder

    return decorator


def list_models() -> List[str]:
    return sorted(_MODELS)


def describe_model(name: str) -> str:
    return _DESCRIPTIONS[_check(name)]


def _check(name: str) -> str:
    if name not in _MODELS:
        raise ValueError(f"Unknown model '{name}'. Registered models: {', '.join(list_models())}")
    return name


def get_model(name: str, num_classes: int = 60, **kwargs):
    """Builds a registered model.

    Args:
        name: registry name (see ``list_models()``).
        num_classes: classifier width.
        **kwargs: builder arguments such as ``layout``, ``num_persons``,
            ``num_frames`` (``None`` = any length where the architecture allows).
    """
    builder = _MODELS[_check(name)]
    accepted = inspect.signature(builder).parameters
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        raise ValueError(f"model '{name}' does not take {', '.join(unknown)}; "
                         f"it takes: {', '.join(k for k in accepted if k != 'num_classes')}")
    return builder(num_classes=num_classes, **kwargs)
