"""Checkpoint import framework: a state dict of numpy arrays -> Keras variables.

Each model family has a module in ``keras_skeleton/importers/`` whose function,
decorated with ``@register_importer("model_name", ...)``, copies tensors from a
``StateDict`` into a built Keras model. The ``StateDict`` records which keys were
used so that missing, unexpected and mis-shaped keys are all reported together
in one clear ``CheckpointError``.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Optional

import numpy as np

_IMPORTERS: Dict[str, Callable] = {}


class CheckpointError(ValueError):
    """A checkpoint that cannot be imported (message names the file or the keys)."""


def register_importer(*model_names: str):
    """Registers ``fn(model, state: StateDict, **options)`` for the given registry names."""

    def decorator(fn):
        for name in model_names:
            _IMPORTERS[name] = fn
        return fn

    return decorator


def get_importer(model_name: str) -> Callable:
    # Importing the package loads every family module (and their registrations).
    import keras_skeleton.importers  # noqa: F401

    if model_name not in _IMPORTERS:
        raise CheckpointError(f"no checkpoint importer for model '{model_name}'; "
                              f"available: {', '.join(sorted(_IMPORTERS))}")
    return _IMPORTERS[model_name]


class StateDict:
    """A name -> ndarray mapping that tracks use and collects problems.

    Args:
        tensors: the checkpoint's arrays.
        source: file name for messages.
        prefix: stripped from every key on lookup (e.g. ``"backbone."``)
        ignore: keys never reported as unexpected (e.g. ``num_batches_tracked``).
    """

    def __init__(self, tensors: Dict[str, np.ndarray], source: str = "", ignore: Iterable[str] = ()):
        self.tensors = dict(tensors)
        self.source = source
        self.used: set = set()
        self.missing: List[str] = []
        self.misshaped: List[str] = []
        self.ignore_suffixes = tuple(ignore)

    def has(self, key: str) -> bool:
        return key in self.tensors

    def take(self, key: str, shape: Optional[tuple] = None) -> Optional[np.ndarray]:
        """Returns ``tensors[key]`` (float32) and marks it used; records a miss or a wrong shape."""
        if key not in self.tensors:
            self.missing.append(key)
            return None
        self.used.add(key)
        value = np.asarray(self.tensors[key])
        if shape is not None and tuple(value.shape) != tuple(shape):
            self.misshaped.append(f"{key}: checkpoint {tuple(value.shape)}, expected {tuple(shape)}")
            return None
        return value

    def unexpected(self) -> List[str]:
        return sorted(k for k in self.tensors if k not in self.used and not k.endswith(self.ignore_suffixes))

    def raise_if_problems(self) -> None:
        problems = []
        if self.missing:
            problems.append(f"missing keys ({len(self.missing)}): {', '.join(self.missing[:20])}"
                            + (" ..." if len(self.missing) > 20 else ""))
        if self.misshaped:
            problems.append(f"mis-shaped keys ({len(self.misshaped)}): {'; '.join(self.misshaped[:20])}")
        unexpected = self.unexpected()
        if unexpected:
            problems.append(f"unexpected keys ({len(unexpected)}): {', '.join(unexpected[:20])}"
                            + (" ..." if len(unexpected) > 20 else ""))
        if problems:
            raise CheckpointError(f"checkpoint '{self.source}' does not match the model: " + " | ".join(problems))


def assign(variable, value: Optional[np.ndarray], state: StateDict, key: str) -> None:
    """Assigns ``value`` to a Keras variable; records a shape mismatch against ``key``."""
    if value is None:
        return
    if tuple(variable.shape) != tuple(value.shape):
        state.misshaped.append(f"{key}: converted {tuple(value.shape)}, Keras variable {tuple(variable.shape)}")
        return
    variable.assign(value.astype(np.float32))


def torch_conv_kernel(weight: np.ndarray) -> np.ndarray:
    """``(out, in, kT, kV)`` -> Keras Conv2D ``(kT, kV, in, out)``."""
    return np.transpose(weight, (2, 3, 1, 0))
