"""Read official checkpoints into ``{name: np.ndarray}`` without PyTorch or Paddle.

* PyTorch ``.pt`` / ``.pth`` / ``.pth.tar`` (the zip format of ``torch.save``): a pickle
  (``<archive>/data.pkl``) whose tensors point at raw little-endian storages
  (``<archive>/data/<key>``). A restricted unpickler rebuilds them with numpy;
  any class outside a short allow-list is refused, so a checkpoint cannot run code.
* Containers: a plain state dict, ``{"model": sd, ...}`` (EfficientGCN),
  ``{"state_dict": sd, "meta": ...}`` (mmcv / PYSKL); a leading ``module.`` is stripped.
* PaddleVideo ``.pdparams``: a pickle of ``name -> ndarray`` (the key
  ``StructuredToParameterName@@`` is dropped).
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import zipfile
from typing import Dict, Tuple

import numpy as np

from keras_skeleton.importers.base import CheckpointError

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_, "BFloat16Storage": None,
}


class _StorageType:
    def __init__(self, name):
        self.name = name


def _rebuild_tensor(storage, offset, size, stride, *unused):
    """``torch._utils._rebuild_tensor_v2`` with numpy: a strided view copied out of the storage."""
    itemsize = storage.dtype.itemsize
    if not size:
        return storage[offset:offset + 1].reshape(()).copy()
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride))
    return np.array(view)


def _rebuild_parameter(data, *unused):
    return data


class _TorchUnpickler(pickle.Unpickler):
    """Unpickles a torch zip checkpoint's ``data.pkl`` allowing only tensors and plain containers."""

    _ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("builtins", "set"): set,
        ("builtins", "slice"): slice,
    }

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, source: str):
        super().__init__(file)
        self.archive = archive
        self.prefix = prefix
        self.source = source
        self.storages: Dict[str, np.ndarray] = {}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch" and name in ("float32", "float64", "float16", "int64", "int32", "uint8", "bool"):
            return name
        if module == "numpy.core.multiarray" and name == "scalar" or module == "numpy" and name == "dtype":
            return {"scalar": np.core.multiarray.scalar if hasattr(np, "core") else None,
                    "dtype": np.dtype}[name]
        # Anything else (optimiser objects, arbitrary classes) is kept as an opaque marker.
        return _Opaque(f"{module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise CheckpointError(f"'{self.source}': unsupported persistent id {pid!r}")
        storage_type, key = pid[1], str(pid[2])
        if key not in self.storages:
            name = getattr(storage_type, "name", "FloatStorage")
            dtype = _STORAGE_DTYPES.get(name)
            if dtype is None:
                raise CheckpointError(f"'{self.source}': tensors of type {name} are not supported")
            raw = self.archive.read(f"{self.prefix}data/{key}")
            self.storages[key] = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
        return self.storages[key]


class _Opaque:
    """Stands in for objects of classes we refuse to import (never called with side effects)."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        return self

    def __setstate__(self, state):
        pass

    def __repr__(self):
        return f"<not imported: {self.name}>"


class _PaddleUnpickler(pickle.Unpickler):
    """Unpickles ``.pdparams``: numpy arrays and plain containers only."""

    def find_class(self, module, name):
        if module.startswith("numpy") and name in ("_reconstruct", "ndarray", "dtype", "scalar",
                                                     "_frombuffer"):
            return pickle.Unpickler.find_class(self, module, name)
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        return _Opaque(f"{module}.{name}")


def _read_torch_zip(path: str):
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if not pickles:
            raise CheckpointError(f"'{path}' is a zip file but not a PyTorch checkpoint (no data.pkl)")
        prefix = pickles[0][:-len("data.pkl")]
        with archive.open(pickles[0]) as f:
            return _TorchUnpickler(io.BytesIO(f.read()), archive, prefix, path).load()


def _find_state_dict(obj, path: str) -> Tuple[Dict[str, np.ndarray], str]:
    """Picks the tensors out of the known containers."""
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict) and any(isinstance(v, np.ndarray) for v in obj[key].values()):
                return obj[key], key
        if any(isinstance(v, np.ndarray) for v in obj.values()):
            return obj, ""
    raise CheckpointError(f"'{path}' holds no state dict of tensors (keys: "
                          f"{', '.join(map(str, list(obj)[:10])) if isinstance(obj, dict) else type(obj).__name__})")


def load_state_dict(path: str) -> Tuple[Dict[str, np.ndarray], Dict]:
    """Returns ``({name: array}, info)`` for a PyTorch or PaddleVideo checkpoint.

    Raises:
        CheckpointError: missing file, not a checkpoint, or an unsupported container (names the file).
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint '{path}' not found")
    info = {"path": path}
    if zipfile.is_zipfile(path):
        try:
            obj = _read_torch_zip(path)
        except CheckpointError:
            raise
        except Exception as e:  # noqa: BLE001 - a damaged archive of any kind
            raise CheckpointError(f"'{path}' is not a readable PyTorch checkpoint: {e}") from None
        info["format"] = "pytorch"
    else:
        try:
            with open(path, "rb") as f:
                obj = _PaddleUnpickler(f).load()
        except Exception as e:  # noqa: BLE001 - text, random bytes, legacy torch files ...
            raise CheckpointError(f"'{path}' is not a checkpoint this tool can read (PyTorch zip or Paddle "
                                  f".pdparams pickle): {type(e).__name__}: {e}") from None
        info["format"] = "paddle"
    tensors, container = _find_state_dict(obj, path)
    info["container_key"] = container
    if isinstance(obj, dict) and "epoch" in obj:
        info["epoch"] = obj["epoch"]
    state = {}
    for key, value in tensors.items():
        if key == "StructuredToParameterName@@" or not isinstance(value, np.ndarray):
            continue
        state[key[len("module."):] if key.startswith("module.") else key] = value
    return state, info
