"""Read official checkpoints into ``{name: np.ndarray}`` without PyTorch or Paddle.

* PyTorch ``.pt`` / ``.pth`` / ``.pth.tar`` in the zip format of ``torch.save`` (PyTorch >= 1.6): a pickle
  (``<archive>/data.pkl``) whose tensors point at raw storages (``<archive>/data/<key>``).
* PyTorch's older non-zip format (``_use_new_zipfile_serialization=False``): five pickles in a row, then
  the raw storages one after another, each preceded by its element count.
* PaddleVideo ``.pdparams``: one pickle of ``name -> ndarray`` (the key ``StructuredToParameterName@@``
  is dropped).

Every pickle goes through an unpickler that resolves only an allow-list of globals (tensor rebuilders,
storage types, numpy array reconstruction, ``OrderedDict`` and a few builtins); a checkpoint naming
any other class or function is refused with a ``CheckpointError``, so reading one never runs its code.

Containers: a plain state dict, ``{"model": sd, ...}`` (EfficientGCN ``.pth.tar``),
``{"state_dict": sd, "meta": ...}`` (mmcv / PYSKL); a leading ``module.`` (DataParallel) is stripped.
"""

from __future__ import annotations

import codecs
import collections
import io
import os
import pickle
import zipfile
from typing import Dict, Tuple

import numpy as np
import numpy._core.multiarray as _np_multiarray
import numpy._core.numeric as _np_numeric

from keras_skeleton.importers.base import CheckpointError

# torch storage class name -> numpy dtype of one element ("bfloat16" is widened to float32 on read).
_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
    "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class _StorageType:
    """Stands for ``torch.FloatStorage`` etc. inside a pickle: only its element type matters."""

    def __init__(self, name: str):
        self.name = name


class _PendingStorage:
    """A legacy-format storage whose bytes follow the pickle; ``array`` is filled in afterwards."""

    def __init__(self, dtype: str, numel: int):
        self.dtype = dtype
        self.numel = numel
        self.array = None


class _StorageView:
    """A slice ``[offset, offset + size)`` of a legacy storage (``view_metadata`` of old files)."""

    def __init__(self, root: _PendingStorage, offset: int, size: int):
        self.root, self.offset, self.size = root, offset, size


class _PendingTensor:
    """A tensor rebuilt once its (legacy) storage has been read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _decode_storage(raw: bytes, dtype: str, byteorder: str) -> np.ndarray:
    """Raw storage bytes -> 1-D numpy array (bfloat16 widened to float32 exactly)."""
    if dtype == "bfloat16":
        bits = np.frombuffer(raw, dtype=np.dtype("uint16").newbyteorder(byteorder)).astype(np.uint32)
        return (bits << 16).view(np.float32)
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder(byteorder))


def _strided_copy(storage: np.ndarray, offset: int, size, stride, source: str) -> np.ndarray:
    """``torch._utils._rebuild_tensor_v2`` semantics: elements ``offset + sum(i_k * stride_k)`` of ``storage``."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in size + stride) or offset < 0:
        raise CheckpointError(f"'{source}': invalid tensor layout (size {size}, stride {stride}, offset {offset})")
    if 0 in size:
        return np.zeros(size, dtype=storage.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    # as_strided does no bounds checking: a bad checkpoint must not make it read foreign memory.
    if last >= storage.size:
        raise CheckpointError(f"'{source}': tensor (size {size}, stride {stride}, offset {offset}) reaches past "
                              f"its storage of {storage.size} elements")
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size, strides=tuple(s * itemsize for s in stride),
                                           writeable=False)
    return np.array(view, dtype=storage.dtype.newbyteorder("="))


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the allow-listed globals; rebuilds torch tensors as numpy arrays.

    Args:
        file: the pickle stream.
        source: checkpoint path, for messages.
        load_storage: ``(dtype, key, numel) -> array or _PendingStorage`` for torch persistent ids,
            or ``None`` when the pickle may not reference storages (a ``.pdparams``).
    """

    def __init__(self, file, source: str, load_storage=None):
        super().__init__(file)
        self.source = source
        self.load_storage = load_storage
        self.allowed = {
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor,
            ("torch._utils", "_rebuild_tensor"): self._rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
            ("torch", "Size"): tuple,
            ("builtins", "tuple"): tuple,
            ("builtins", "list"): list,
            ("builtins", "dict"): dict,
            ("builtins", "set"): set,
            ("builtins", "frozenset"): frozenset,
            ("builtins", "slice"): slice,
            ("builtins", "complex"): complex,
            ("builtins", "bytearray"): bytearray,
            # Protocol-2 pickles (Python 3) write ``bytes`` as ``_codecs.encode(text, "latin1")``.
            ("_codecs", "encode"): codecs.encode,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
        }
        # numpy < 2 pickles name ``numpy.core``, numpy >= 2 ``numpy._core``; both mean the same functions.
        for package in ("numpy.core", "numpy._core"):
            self.allowed[(f"{package}.multiarray", "_reconstruct")] = _np_multiarray._reconstruct
            self.allowed[(f"{package}.multiarray", "scalar")] = _np_multiarray.scalar
            self.allowed[(f"{package}.numeric", "_frombuffer")] = _np_numeric._frombuffer

    def find_class(self, module, name):
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(f"'{self.source}' refers to {module}.{name}, which this reader does not load "
                              "(only tensors, numpy arrays and plain containers are read from a checkpoint; "
                              "save the state dict alone to convert it)")

    def persistent_load(self, pid):
        if self.load_storage is None:
            raise CheckpointError(f"'{self.source}': unexpected persistent reference {pid!r} in a plain pickle")
        if isinstance(pid, tuple) and len(pid) >= 5 and pid[0] in ("storage", b"storage"):
            storage_type = pid[1]
            if not isinstance(storage_type, _StorageType):
                raise CheckpointError(f"'{self.source}': unsupported storage {storage_type!r}")
            key = pid[2].decode("ascii") if isinstance(pid[2], bytes) else str(pid[2])
            storage = self.load_storage(_STORAGE_DTYPES[storage_type.name], key, int(pid[4]))
            view = pid[5] if len(pid) > 5 else None
            if view is not None:  # legacy files only: (view_key, offset, size)
                storage = _StorageView(storage, int(view[1]), int(view[2]))
            return storage
        if isinstance(pid, tuple) and pid and pid[0] in ("module", b"module"):
            return None  # legacy files record source of saved nn.Modules; whole modules are refused elsewhere
        raise CheckpointError(f"'{self.source}': unsupported persistent reference {pid!r}")

    def _rebuild_tensor(self, storage, offset, size, stride, *unused):
        if isinstance(storage, np.ndarray):
            return _strided_copy(storage, int(offset), size, stride, self.source)
        if isinstance(storage, (_PendingStorage, _StorageView)):
            return _PendingTensor(storage, int(offset), size, stride)
        raise CheckpointError(f"'{self.source}': a tensor without a storage")


def _rebuild_parameter(data, *unused):
    """``nn.Parameter`` -> its data (``requires_grad`` and hooks do not matter here)."""
    return data


def _read_torch_zip(path: str):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
        if not pickles:
            raise CheckpointError(f"'{path}' is a zip file but not a PyTorch checkpoint (no data.pkl)")
        prefix = pickles[0][:-len("data.pkl")]
        byteorder = "<"
        if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder").strip() == b"big":
            byteorder = ">"
        storages: Dict[str, np.ndarray] = {}

        def load_storage(dtype, key, numel):
            if key not in storages:
                record = f"{prefix}data/{key}"
                if record not in names:
                    raise CheckpointError(f"'{path}': storage record {record} is missing")
                storages[key] = _decode_storage(archive.read(record), dtype, byteorder)
            return storages[key]

        return _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), path, load_storage).load()


def _read_legacy_torch(f, path: str):
    """The rest of a pre-zip torch file, positioned after the magic number."""
    if _RestrictedUnpickler(f, path).load() != _LEGACY_PROTOCOL:
        raise CheckpointError(f"'{path}': unsupported legacy PyTorch protocol version")
    _RestrictedUnpickler(f, path).load()  # sys_info; torch writes legacy storages little-endian regardless
    pending: Dict[str, _PendingStorage] = {}

    def load_storage(dtype, key, numel):
        return pending.setdefault(key, _PendingStorage(dtype, numel))

    result = _RestrictedUnpickler(f, path, load_storage).load()
    for key in _RestrictedUnpickler(f, path).load():
        key = key.decode("ascii") if isinstance(key, bytes) else str(key)
        if key not in pending:
            raise CheckpointError(f"'{path}': storage {key} was never referenced")
        storage = pending[key]
        numel = int(np.frombuffer(f.read(8), dtype="<i8")[0])
        itemsize = 2 if storage.dtype == "bfloat16" else np.dtype(storage.dtype).itemsize
        raw = f.read(numel * itemsize)
        if numel != storage.numel or len(raw) != numel * itemsize:
            raise CheckpointError(f"'{path}': storage {key} is truncated")
        storage.array = _decode_storage(raw, storage.dtype, "<")
    return _resolve_pending(result, path)


def _resolve_pending(obj, path: str):
    """Replaces every ``_PendingTensor`` inside plain containers with its numpy array."""
    if isinstance(obj, _PendingTensor):
        storage = obj.storage
        if isinstance(storage, _StorageView):
            array = storage.root.array
            if array is None:
                raise CheckpointError(f"'{path}': a tensor's storage was not found in the file")
            array = array[storage.offset:storage.offset + storage.size]
        else:
            array = storage.array
            if array is None:
                raise CheckpointError(f"'{path}': a tensor's storage was not found in the file")
        return _strided_copy(array, obj.offset, obj.size, obj.stride, path)
    if isinstance(obj, dict):
        for key in list(obj):
            obj[key] = _resolve_pending(obj[key], path)
        return obj
    if isinstance(obj, (list, tuple)):
        items = [_resolve_pending(item, path) for item in obj]
        return items if isinstance(obj, list) else tuple(items)
    return obj


def _find_state_dict(obj, path: str) -> Tuple[Dict[str, np.ndarray], str]:
    """Picks the tensors out of the known containers; returns them and the container key ("" = top level)."""

    def holds_arrays(value):
        return isinstance(value, dict) and any(isinstance(v, np.ndarray) for v in value.values())

    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict", "net", "params"):
            if holds_arrays(obj.get(key)):
                return obj[key], key
        if holds_arrays(obj):
            return obj, ""
        described = f"a dict with keys {', '.join(map(str, list(obj)[:10]))}"
    else:
        described = f"a {type(obj).__name__}"
    raise CheckpointError(f"'{path}' holds no state dict of tensors ({described})")


def load_state_dict(path: str) -> Tuple[Dict[str, np.ndarray], Dict]:
    """Reads a PyTorch or PaddleVideo checkpoint.

    Returns:
        ``({name: array}, info)``: arrays keep the checkpoint's dtype and shape (``module.`` stripped);
        ``info`` has ``path``, ``format`` ("pytorch", "pytorch-legacy" or "paddle"), ``container_key``
        (``"model"``, ``"state_dict"`` or ``""``) and ``epoch`` when the container records one.

    Raises:
        CheckpointError: missing file, not a checkpoint, a refused class, or no state dict (names the file).
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint '{path}' not found")
    info = {"path": path}
    try:
        if zipfile.is_zipfile(path):
            obj = _read_torch_zip(path)
            info["format"] = "pytorch"
        else:
            with open(path, "rb") as f:
                obj = _RestrictedUnpickler(f, path).load()
                if isinstance(obj, int) and obj == _LEGACY_MAGIC:
                    obj = _read_legacy_torch(f, path)
                    info["format"] = "pytorch-legacy"
                else:
                    info["format"] = "paddle"
    except CheckpointError:
        raise
    except Exception as e:  # noqa: BLE001 - text, random bytes, a damaged archive: all "not a checkpoint"
        raise CheckpointError(f"'{path}' is not a checkpoint this tool can read (PyTorch .pt/.pth/.pth.tar or "
                              f"PaddleVideo .pdparams): {type(e).__name__}: {e}") from None
    tensors, container = _find_state_dict(obj, path)
    info["container_key"] = container
    if isinstance(obj, dict) and isinstance(obj.get("epoch"), int):
        info["epoch"] = obj["epoch"]
    state = {}
    for key, value in tensors.items():
        if key == "StructuredToParameterName@@" or not isinstance(value, np.ndarray):
            continue
        state[key[len("module."):] if key.startswith("module.") else key] = value
    return state, info
