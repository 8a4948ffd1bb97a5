"""Reading PyTorch (zip and legacy) and Paddle checkpoints with numpy alone, and refusing everything else.

The PyTorch files here are written by ``write_torch_checkpoint`` below, which produces the same pickle
opcodes and archive layout as ``torch.save`` (globals ``torch._utils._rebuild_tensor_v2``,
``torch.FloatStorage``, ... resolved through stand-in modules while pickling), so no PyTorch is needed.
"""

import collections
import io
import os
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

from conftest import shared_path
from keras_skeleton.checkpoint_io import load_state_dict
from keras_skeleton.importers import CheckpointError

_STORAGE_NAMES = {np.dtype("float32"): "FloatStorage", np.dtype("float64"): "DoubleStorage",
                  np.dtype("float16"): "HalfStorage", np.dtype("int64"): "LongStorage",
                  np.dtype("int32"): "IntStorage", np.dtype("uint8"): "ByteStorage", np.dtype("bool"): "BoolStorage"}


class Storage:
    """A flat storage shared by tensors; ``bfloat16=True`` stores the float32 values' upper halves."""

    def __init__(self, values, bfloat16=False):
        self.values = np.ascontiguousarray(values).ravel()
        self.bfloat16 = bfloat16

    def raw(self):
        if self.bfloat16:
            return (self.values.astype(np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
        return self.values.astype(self.values.dtype.newbyteorder("<")).tobytes()


class Tensor:
    """A strided view of a ``Storage`` (pickled like a torch tensor)."""

    def __init__(self, storage, offset, size, stride, parameter=False):
        self.storage, self.offset, self.size, self.stride, self.parameter = storage, offset, size, stride, parameter


def tensor(values, **kwargs):
    """A contiguous tensor holding ``values`` in its own storage."""
    values = np.array(values, order="C")  # (ascontiguousarray would turn a scalar into shape (1,))
    strides = tuple(s // values.itemsize for s in values.strides) if values.ndim else ()
    return Tensor(Storage(values, **kwargs), 0, values.shape, strides)


def _fake_torch():
    """Stand-in ``torch`` / ``torch._utils`` modules so pickle can name their globals."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    for name in set(_STORAGE_NAMES.values()) | {"BFloat16Storage"}:
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    for name in ("_rebuild_tensor_v2", "_rebuild_parameter"):
        function = lambda *args: None  # noqa: E731 - only its name is pickled
        function.__module__, function.__name__, function.__qualname__ = "torch._utils", name, name
        setattr(utils, name, function)
    torch._utils = utils
    return torch, utils


class _TorchPickler(pickle.Pickler):
    def __init__(self, file, torch, legacy):
        super().__init__(file, protocol=2)
        self.torch, self.legacy, self.keys = torch, legacy, {}

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        key = self.keys.setdefault(id(obj), (str(len(self.keys)), obj))[0]
        name = "BFloat16Storage" if obj.bfloat16 else _STORAGE_NAMES[obj.values.dtype]
        pid = ("storage", getattr(self.torch, name), key, "cpu", obj.values.size)
        return pid + (None,) if self.legacy else pid

    def reducer_override(self, obj):
        if not isinstance(obj, Tensor):
            return NotImplemented
        if obj.parameter:
            inner = Tensor(obj.storage, obj.offset, obj.size, obj.stride)
            return self.torch._utils._rebuild_parameter, (inner, True, collections.OrderedDict())
        return (self.torch._utils._rebuild_tensor_v2,
                (obj.storage, obj.offset, tuple(obj.size), tuple(obj.stride), False, collections.OrderedDict()))


def write_torch_checkpoint(path, obj, legacy=False):
    """Writes ``obj`` (containers of ``Tensor``/numpy arrays) the way ``torch.save`` lays it out."""
    torch, utils = _fake_torch()
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        obj = _wrap_arrays(obj)
        body = io.BytesIO()
        pickler = _TorchPickler(body, torch, legacy)
        pickler.dump(obj)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    storages = sorted(pickler.keys.values(), key=lambda item: int(item[0]))
    if legacy:
        with open(path, "wb") as f:
            for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
                pickle.dump(header, f, protocol=2)
            f.write(body.getvalue())
            pickle.dump([key for key, _ in storages], f, protocol=2)
            for _, storage in storages:
                f.write(np.int64(storage.values.size).astype("<i8").tobytes() + storage.raw())
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", body.getvalue())
            archive.writestr("archive/byteorder", "little")
            archive.writestr("archive/version", "3\n")
            for key, storage in storages:
                archive.writestr(f"archive/data/{key}", storage.raw())


def _wrap_arrays(obj):
    if isinstance(obj, np.ndarray):
        return tensor(obj)
    if isinstance(obj, dict):
        return type(obj)((k, _wrap_arrays(v)) for k, v in obj.items())
    return obj


def _example_tensors():
    """Tensors covering dtypes, a shared storage with offset and non-contiguous strides, a Parameter."""
    shared = Storage(np.arange(20, dtype=np.float32))
    rng = np.random.default_rng(0)
    expected = {
        "conv.weight": rng.normal(size=(4, 3, 5, 1)).astype(np.float32),
        "half": rng.normal(size=(6,)).astype(np.float16),
        "double": rng.normal(size=(2, 2)).astype(np.float64),
        "bn.num_batches_tracked": np.array(7, np.int64),
        "int32": np.arange(6, dtype=np.int32).reshape(2, 3),
        "bytes": np.arange(5, dtype=np.uint8),
        "mask": np.array([True, False, True]),
        "bf16": np.array([1.5, -2.0, 0.15625, 2.0 ** 100], np.float32),
        # A (3, 4) transposed view of storage elements 2..13: torch stores it with strides (1, 3).
        "transposed": np.arange(2, 14, dtype=np.float32).reshape(4, 3).T,
        "parameter": rng.normal(size=(2, 3)).astype(np.float32),
    }
    tensors = {key: tensor(value) for key, value in expected.items()}
    tensors["bf16"] = tensor(expected["bf16"], bfloat16=True)
    tensors["transposed"] = Tensor(shared, 2, (3, 4), (1, 3))
    tensors["parameter"] = Tensor(Storage(expected["parameter"]), 0, (2, 3), (3, 1), parameter=True)
    return tensors, expected


@pytest.mark.parametrize("legacy", [False, True])
def test_torch_formats_rebuild_every_dtype_and_layout(tmp_path, legacy):
    tensors, expected = _example_tensors()
    container = {"state_dict": collections.OrderedDict(("module." + k, v) for k, v in tensors.items()),
                 "meta": {"epoch": 3, "config": "text", "classes": ["a", "b"]}, "epoch": 12}
    path = str(tmp_path / ("old.pth" if legacy else "new.pth"))
    write_torch_checkpoint(path, container, legacy=legacy)
    state, info = load_state_dict(path)
    assert info == {"path": path, "format": "pytorch-legacy" if legacy else "pytorch", "container_key": "state_dict",
                    "epoch": 12}
    assert sorted(state) == sorted(expected)          # "module." stripped, nothing else dropped
    for key, value in expected.items():
        assert state[key].shape == value.shape and state[key].dtype == value.dtype, key
        np.testing.assert_array_equal(state[key], value, err_msg=key)
    assert state["transposed"].flags.writeable


def test_model_container_and_plain_state_dict(tmp_path):
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    write_torch_checkpoint(tmp_path / "a.pth.tar", {"model": {"fc.weight": weight}, "optimizer": {"lr": 0.1},
                                                     "best_state": {"acc_top1": 0.5}, "epoch": 4})
    state, info = load_state_dict(str(tmp_path / "a.pth.tar"))
    assert info["container_key"] == "model" and info["epoch"] == 4 and list(state) == ["fc.weight"]
    write_torch_checkpoint(tmp_path / "b.pt", collections.OrderedDict(w=weight))
    state, info = load_state_dict(str(tmp_path / "b.pt"))
    assert info["container_key"] == "" and np.array_equal(state["w"], weight)


def test_paddle_pickle_skips_the_name_table(tmp_path):
    path = tmp_path / "m.pdparams"
    weight = np.ones((3, 2), np.float32)
    with open(path, "wb") as f:
        pickle.dump({"head.fc.weight": weight, "StructuredToParameterName@@": {"head.fc.weight": "linear_0.w_0"}},
                    f, protocol=4)
    state, info = load_state_dict(str(path))
    assert info["format"] == "paddle" and list(state) == ["head.fc.weight"]
    np.testing.assert_array_equal(state["head.fc.weight"], weight)


def test_tensor_reaching_past_its_storage_is_refused(tmp_path):
    path = tmp_path / "bad.pt"
    write_torch_checkpoint(path, {"w": Tensor(Storage(np.zeros(4, np.float32)), 2, (2, 2), (2, 1))})
    with pytest.raises(CheckpointError, match="bad.pt.*past its storage"):
        load_state_dict(str(path))


def test_refuses_to_run_code_from_a_pickle(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(marker),))

    path = tmp_path / "evil.pdparams"
    with open(path, "wb") as f:
        pickle.dump({"w": np.zeros(2, np.float32), "x": Evil()}, f)
    with pytest.raises(CheckpointError, match=r"evil.pdparams.*refers to (posix|os|nt)\.system"):
        load_state_dict(str(path))
    # The same inside a torch zip (e.g. argparse.Namespace next to the weights) is refused as well.
    import argparse
    write_torch_checkpoint(tmp_path / "args.pth", {"model": {"w": np.zeros(2, np.float32)},
                                                    "args": argparse.Namespace(lr=0.1)})
    with pytest.raises(CheckpointError, match=r"args.pth.*argparse.Namespace"):
        load_state_dict(str(tmp_path / "args.pth"))
    assert not marker.exists()


def test_not_a_checkpoint_names_the_file(tmp_path):
    cases = {"notes.pt": b"hello, this is text\n", "noise.pth": np.random.default_rng(1).bytes(4096),
             "empty.pdparams": b""}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=f"'{tmp_path / name}' is not a checkpoint"):
            load_state_dict(str(tmp_path / name))
    with zipfile.ZipFile(tmp_path / "archive.pth", "w") as z:
        z.writestr("readme.txt", "not torch")
    with pytest.raises(CheckpointError, match="archive.pth.*no data.pkl"):
        load_state_dict(str(tmp_path / "archive.pth"))
    with open(tmp_path / "list.pdparams", "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(CheckpointError, match="list.pdparams.*no state dict"):
        load_state_dict(str(tmp_path / "list.pdparams"))
    with pytest.raises(CheckpointError, match="absent.pt' not found"):
        load_state_dict(str(tmp_path / "absent.pt"))


def test_reads_the_reference_checkpoints():
    official, info = load_state_dict(shared_path("parity", "ctrgcn_official_ntu60", "model.pt"))
    assert info["format"] == "pytorch" and info["container_key"] == "" and len(official) == 822
    assert official["l1.gcn1.PA"].shape == (3, 25, 25) and official["l1.gcn1.PA"].dtype == np.float32
    assert official["fc.weight"].shape == (60, 256) and official["data_bn.num_batches_tracked"].dtype == np.int64
    paddle, info = load_state_dict(shared_path("parity", "paddlevideo_ctrgcn_ntu60", "model.pdparams"))
    assert info["format"] == "paddle" and "StructuredToParameterName@@" not in paddle and len(paddle) == 736
    assert paddle["head.fc.weight"].shape == (256, 60)
    effgcn, info = load_state_dict(shared_path("parity", "efficientgcn_b0_ntu60", "model.pth.tar"))
    assert info["container_key"] == "model" and not any(k.startswith("optimizer") for k in effgcn)
    mmcv, info = load_state_dict(shared_path("parity", "stgcnpp_ntu_ntu60", "model.pth"))
    assert info["container_key"] == "state_dict" and any(k.startswith("backbone.") for k in mmcv)
