"""TFLite graph inspection with the LiteRT runtime only (numpy + ai-edge-litert, no TensorFlow).

* ``op_histogram``: builtin op names and counts; Flex / custom ops show up by name.
* ``xnnpack_report``: how many partitions XNNPACK took and which nodes it left to the
  reference kernels (found by walking back from the delegate inputs and graph
  outputs through tensors that no delegate produces).
* ``count_macs``: multiply-accumulates of the linear ops (conv, depthwise conv,
  fully connected, batch matmul) from the tensor shapes — the same ops the torch
  flop counter counts for these models.
"""

from __future__ import annotations

import collections
from typing import Dict, List, Tuple

import numpy as np


def _interpreter(path: str, delegate: bool, num_threads: int = 1):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if delegate:
        interpreter = Interpreter(model_path=path, num_threads=num_threads)
    else:
        interpreter = Interpreter(model_path=path, num_threads=num_threads,
                                  experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    return interpreter


def op_histogram(path: str) -> Dict[str, int]:
    ops = _interpreter(path, delegate=False)._get_ops_details()
    return dict(collections.Counter(op["op_name"] for op in ops).most_common())


def max_tensor_rank(path: str, include_inputs: bool = False) -> int:
    """Largest rank of any tensor in the graph; the model inputs ``(B, M, T, V, C)`` are left out
    unless ``include_inputs`` (the deployment rule is rank <= 4 after the input reshape)."""
    interpreter = _interpreter(path, delegate=False)
    inputs = set() if include_inputs else {int(d["index"]) for d in interpreter.get_input_details()}
    # A full-int8 file with float I/O quantises the input before the model's own reshape; that int8 copy
    # is the input too, not a rank-5 tensor inside the graph.
    if not include_inputs:
        for op in interpreter._get_ops_details():
            if op["op_name"] == "QUANTIZE" and {int(t) for t in op["inputs"]} <= inputs:
                inputs |= {int(t) for t in op["outputs"]}
    details = interpreter.get_tensor_details()
    return max((len(d["shape"]) for d in details if int(d["index"]) not in inputs), default=0)


def xnnpack_report(path: str) -> Dict:
    """``{"partitions", "nodes", "undelegated": [op names]}`` with the default XNNPACK delegate."""
    interpreter = _interpreter(path, delegate=True)
    ops = interpreter._get_ops_details()
    delegates = [op for op in ops if op["op_name"] == "DELEGATE"]
    originals = [op for op in ops if op["op_name"] != "DELEGATE"]
    produced_by = {int(t): op for op in originals for t in op["outputs"]}
    delegate_outputs = {int(t) for d in delegates for t in d["outputs"]}
    wanted = {int(t) for d in delegates for t in d["inputs"]}
    wanted |= {int(o["index"]) for o in interpreter.get_output_details()}
    left: Dict[int, str] = {}
    stack = [t for t in wanted if t not in delegate_outputs and t in produced_by]
    while stack:
        op = produced_by[stack.pop()]
        if op["index"] in left:
            continue
        left[op["index"]] = op["op_name"]
        stack += [int(t) for t in op["inputs"] if int(t) not in delegate_outputs and int(t) in produced_by]
    if not delegates:
        left = {op["index"]: op["op_name"] for op in originals}
    return {"partitions": len(delegates), "nodes": len(originals),
            "delegated_nodes": len(originals) - len(left), "undelegated": sorted(left.values())}


def count_macs(path: str) -> int:
    """Multiply-accumulates of one invocation (batch included)."""
    interpreter = _interpreter(path, delegate=False)
    shapes = {d["index"]: tuple(int(v) for v in d["shape"]) for d in interpreter.get_tensor_details()}
    total = 0
    for op in interpreter._get_ops_details():
        name, inputs, outputs = op["op_name"], list(op["inputs"]), list(op["outputs"])
        if not outputs or outputs[0] < 0:
            continue
        out = shapes.get(outputs[0], ())
        if name == "CONV_2D":                       # filter (C_out, kh, kw, C_in)
            _, kh, kw, cin = shapes[inputs[1]]
            total += int(np.prod(out)) * kh * kw * cin
        elif name == "DEPTHWISE_CONV_2D":            # filter (1, kh, kw, C_out)
            _, kh, kw, _ = shapes[inputs[1]]
            total += int(np.prod(out)) * kh * kw
        elif name == "FULLY_CONNECTED":              # weights (units, in)
            total += int(np.prod(out)) * shapes[inputs[1]][-1]
        elif name == "BATCH_MATMUL":
            lhs = shapes[inputs[0]]
            total += int(np.prod(out)) * lhs[-1]
    return int(total)


def run_tflite(path: str, inputs: np.ndarray, num_threads: int = 1) -> np.ndarray:
    """Runs a batch-1 or batch-B model over ``inputs`` (N, ...) in chunks of its static batch."""
    interpreter = _interpreter(path, delegate=True, num_threads=num_threads)
    detail = interpreter.get_input_details()[0]
    batch = int(detail["shape"][0])
    out_index = interpreter.get_output_details()[0]["index"]
    results: List[np.ndarray] = []
    for start in range(0, len(inputs), batch):
        chunk = inputs[start:start + batch]
        padded = chunk if len(chunk) == batch else np.concatenate(
            [chunk, np.zeros((batch - len(chunk),) + chunk.shape[1:], chunk.dtype)])
        interpreter.set_tensor(detail["index"], padded.astype(detail["dtype"]))
        interpreter.invoke()
        results.append(interpreter.get_tensor(out_index)[:len(chunk)].copy())
    return np.concatenate(results)


def input_signature(path: str) -> Tuple[Tuple[int, ...], str]:
    detail = _interpreter(path, delegate=False).get_input_details()[0]
    return tuple(int(v) for v in detail["shape"]), str(np.dtype(detail["dtype"]))
