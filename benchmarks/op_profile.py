"""Where the time of a .tflite file goes: every op cut out into its own one-op file and timed alone.

    python -m benchmarks.op_profile --model=runs/deploy2/ctrgcn/model_float32.tflite [--runs=20] [--reference_macs=1.94e9]

LiteRT's Python API has no per-op profiler, so each op of the file is copied, with its tensors,
options and constant buffers, into a one-op model (``ai_edge_litert.schema_py_generated``); ops with
the same type, options and tensor shapes are timed once and counted as often as they occur. Every
one-op file, an empty model (the cost of one ``invoke()`` call, subtracted from each) and the whole
file are loaded into LiteRT interpreters (XNNPACK, ``--threads``) and timed round-robin, so drift hits
them alike. Prints one line per op type (count, time, share, MACs, GFLOP/s) and, as the last line,
JSON with the whole file's median latency, the sum of its ops timed alone, the part of that sum in
the MAC-carrying ops (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, BATCH_MATMUL), and the compute-
floor ratio each would give (``latency * single-thread peak / (2 * MACs)``, the peak measured in the
same run as in ``export.benchmark``). The MAC-op sum is what the file's arithmetic costs in XNNPACK's
own kernels with nothing else running: a lower bound for any graph built from those same ops.
"""

from __future__ import annotations

import collections
import copy
import json
import os
import statistics
import tempfile
import time

from absl import app, flags

def define_flags():
    """Defined only when run as a command, so importing ``split_ops`` never clashes with other flags."""
    flags.DEFINE_string("model", None, "The .tflite file.")
    flags.DEFINE_integer("runs", 20, "Timed rounds (one run of every one-op file and of the whole file per round).")
    flags.DEFINE_integer("repeats", 3, "Back-to-back timed runs per file and round (after one untimed run).")
    flags.DEFINE_integer("threads", 1, "Interpreter threads.")
    flags.DEFINE_float("reference_macs", 1.94e9, "MACs for the floor ratio (the performance issue's CTR-GCN figure); "
                       "0 uses the file's own count.")
    flags.DEFINE_integer("top", 12, "Slowest distinct ops listed.")


FLAGS = flags.FLAGS

MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BATCH_MATMUL")


def _pack(model) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _has_data(buffer) -> bool:
    return buffer is not None and ((buffer.data is not None and len(buffer.data) > 0) or bool(buffer.size))


def _sub_model(original, operators, inputs, outputs, keep_buffers):
    """A shallow copy of ``original`` whose subgraph 0 runs only ``operators`` (tensor indices unchanged)."""
    from ai_edge_litert import schema_py_generated as schema

    model, sub = copy.copy(original), copy.copy(original.subgraphs[0])
    sub.operators, sub.inputs, sub.outputs = operators, inputs, outputs
    model.subgraphs, model.signatureDefs = [sub], []
    model.buffers = [b if i in keep_buffers or i == 0 else schema.BufferT() for i, b in enumerate(original.buffers)]
    return _pack(model)


def split_ops(content: bytes):
    """``(one-op models by key, op names, op keys, empty model)`` for subgraph 0 (equal ops share a key)."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    original = schema.ModelT.InitFromPackedBuf(content, 0)
    graph = original.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in original.operatorCodes]
    models, op_names, keys = {}, [], []
    for op in graph.operators:
        name = names.get(codes[op.opcodeIndex], f"op{codes[op.opcodeIndex]}")
        inputs = [int(i) for i in (op.inputs if op.inputs is not None else []) if i >= 0]
        outputs = [int(i) for i in op.outputs]
        const = [_has_data(original.buffers[graph.tensors[i].buffer]) for i in inputs]
        key = (name, repr(sorted(vars(op.builtinOptions).items())) if op.builtinOptions is not None else "",
               tuple((tuple(graph.tensors[i].shape), c) for i, c in zip(inputs, const)),
               tuple(tuple(graph.tensors[i].shape) for i in outputs))
        op_names.append(name)
        keys.append(key)
        if key not in models:
            models[key] = _sub_model(original, [op], [i for i, c in zip(inputs, const) if not c], outputs,
                                     {graph.tensors[i].buffer for i in inputs + outputs})
    first_input = list(graph.inputs[:1])
    return models, op_names, keys, _sub_model(original, [], first_input, first_input, set())


def _runner(content: bytes, threads: int, rng):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=threads)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        shape, dtype = tuple(int(v) for v in detail["shape"]), detail["dtype"]
        value = rng.normal(0, 0.3, shape) if np.issubdtype(dtype, np.floating) else rng.integers(0, 2, shape)
        interpreter.set_tensor(detail["index"], value.astype(dtype))
    for _ in range(2):
        interpreter.invoke()
    return interpreter


def main(argv):
    del argv
    import numpy as np

    from export.benchmark import matmul_peak_gflops
    from export.tflite_tools import count_macs

    if not FLAGS.model:
        raise app.UsageError("--model is required")
    with open(FLAGS.model, "rb") as f:
        content = f.read()
    models, op_names, keys, empty = split_ops(content)
    rng = np.random.default_rng(0)
    distinct = list(models)
    runners = [_runner(models[k], FLAGS.threads, rng) for k in distinct]
    whole, baseline = _runner(content, FLAGS.threads, rng), _runner(empty, FLAGS.threads, rng)
    times = collections.defaultdict(list)
    for _ in range(FLAGS.runs):
        for key, interpreter in [("whole", whole), ("empty", baseline)] + list(zip(distinct, runners)):
            # One untimed run first, so the op finds its operands in cache as it would inside the
            # whole graph (where the op before it has just written them).
            interpreter.invoke()
            start = time.perf_counter()
            for _ in range(FLAGS.repeats):
                interpreter.invoke()
            times[key].append((time.perf_counter() - start) / FLAGS.repeats)
    peak = matmul_peak_gflops()
    overhead = statistics.median(times["empty"])
    op_ms = {k: max(statistics.median(times[k]) - overhead, 0.0) * 1000 for k in distinct}
    macs_of = {key: 0 for key in distinct}
    with tempfile.TemporaryDirectory() as tmp:
        for i, key in enumerate(k for k in distinct if k[0] in MAC_OPS):
            path = os.path.join(tmp, f"op{i}.tflite")
            with open(path, "wb") as f:
                f.write(models[key])
            macs_of[key] = count_macs(path)
    by_type = collections.defaultdict(lambda: [0, 0.0, 0])
    for name, key in zip(op_names, keys):
        by_type[name][0] += 1
        by_type[name][1] += op_ms[key]
        by_type[name][2] += macs_of[key]
    whole_ms = statistics.median(times["whole"]) * 1000
    sum_ms = sum(v[1] for v in by_type.values())
    mac_ms = sum(v[1] for n, v in by_type.items() if n in MAC_OPS)
    file_macs = sum(v[2] for v in by_type.values())
    macs = FLAGS.reference_macs or file_macs
    print(f"{'op':20s} {'count':>5s} {'ms':>8s} {'share':>6s} {'MMAC':>8s} {'GFLOP/s':>8s}")
    for name, (count, ms, op_macs) in sorted(by_type.items(), key=lambda kv: -kv[1][1]):
        rate = f"{2 * op_macs / ms / 1e6:8.1f}" if op_macs and ms else f"{'':8s}"
        print(f"{name:20s} {count:5d} {ms:8.2f} {(ms / sum_ms if sum_ms else 0.0):6.1%} {op_macs / 1e6:8.1f} {rate}")
    counts = collections.Counter(keys)
    print("\nslowest distinct ops (ms each x count):")
    for key in sorted(distinct, key=lambda k: -op_ms[k] * counts[k])[:FLAGS.top]:
        shapes = " ".join("x".join(map(str, s)) + ("(const)" if c else "") for s, c in key[2])
        print(f"  {key[0]:16s} {op_ms[key]:6.3f} ms x {counts[key]:2d}  in {shapes} -> "
              f"{' '.join('x'.join(map(str, s)) for s in key[3])}")

    def ratio(ms):
        return round(ms / 1000 * peak / (2 * macs / 1e9), 3)

    summary = {"benchmark": "op_profile", "model": FLAGS.model, "threads": FLAGS.threads, "runs": FLAGS.runs,
               "ops": len(op_names), "distinct_ops": len(distinct), "invoke_overhead_ms": round(overhead * 1000, 4),
               "whole_p50_ms": round(whole_ms, 4), "sum_of_ops_ms": round(sum_ms, 4),
               "mac_ops_ms": round(mac_ms, 4), "file_macs": int(file_macs), "floor_macs": int(macs),
               "peak_gflops": round(peak, 1), "floor_ms": round(2 * macs / 1e9 / peak * 1000, 2),
               "floor_ratio_whole": ratio(whole_ms), "floor_ratio_sum_of_ops": ratio(sum_ms),
               "floor_ratio_mac_ops_only": ratio(mac_ms),
               "by_type": {n: {"count": v[0], "ms": round(v[1], 3), "macs": int(v[2])} for n, v in by_type.items()}}
    print(json.dumps(summary))


if __name__ == "__main__":
    define_flags()
    app.run(main)
