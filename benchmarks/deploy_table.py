"""Export and latency table of the CTR-GCN family: every format, its gates, its latency, in one run.

    python -m benchmarks.deploy_table [--models=ctrgcn,ctrgcn_light] [--latency_models=ctrgcn_light_v1,...]
        [--runs=30] [--out_dir=runs/deploy] [--output=docs/deploy_table.json]

For each model of ``--models``: the official checkpoint of its parity fixture (``../shared/parity``)
is converted to ``.keras``; ``export.export_model`` writes SavedModel, TFLite float32 / float16 /
dynamic_int8 / int8 and ONNX at batch 1, M=2, T=64, with real NTU clips as calibration and check
set (the 60 shared raw ``.skeleton`` files prepared by ``data_tools.ntu``); failed gates are reported
(the fixtures' weights are random: CTRGCN_light's logits reach several hundred, where float32 rounding
alone exceeds the absolute 1e-4 gate -- export a trained model to check it).
``--latency_models`` get float32 and int8 TFLite only. Then, in one process and interleaved
round-robin so that machine noise hits every file alike, each file runs ``--runs`` times on one
thread (LiteRT for .tflite, onnxruntime for .onnx, TensorFlow for the SavedModel); the median is
reported with the single-thread numpy matmul peak measured in the same run, and the compute-floor
ratio ``latency * peak / (2 * MACs)`` both with the reference's MAC count (CTR-GCN 1.94 G, the
figure the performance issue uses) and with the MACs of our own graph. Batch-16 throughput of
the float32 TFLite files comes from a second, batch-16 export. Prints a Markdown table, then JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time

from absl import app, flags

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = {"ctrgcn": ("ctrgcn_official_ntu60", "model.pt"), "ctrgcn_light": ("ctrgcn_light_ntu60", "model.pdparams"),
            "ctrgcn_light_v1": ("ctrgcn_light_v1_ntu60", "model.pdparams"),
            "ctrgcn_light_v2": ("ctrgcn_light_v2_ntu60", "model.pdparams")}
# Multiply-accumulates per clip (T=64, M=2) the references report (MODEL_SPEC; the 1.94 G).
REFERENCE_MACS = {"ctrgcn": 1.94e9}
FULL_QUANTIZATIONS = ("float32", "float16", "dynamic_int8", "int8")

flags.DEFINE_list("models", ["ctrgcn", "ctrgcn_light"], "Models exported in every format.")
flags.DEFINE_list("latency_models", ["ctrgcn_light_v1", "ctrgcn_light_v2"], "Models exported as float32 and "
                  "int8 TFLite only (latency comparison).")
flags.DEFINE_string("parity_dir", os.path.join(REPO_ROOT, "..", "shared", "parity"), "Parity fixtures.")
flags.DEFINE_string("ntu_raw", os.path.join(REPO_ROOT, "..", "shared", "data", "ntu_raw"), "Raw NTU files.")
flags.DEFINE_string("out_dir", None, "Keep the exports here (default: a temporary folder).")
flags.DEFINE_integer("runs", 30, "Timed runs per file (after 3 warm-up runs).")
flags.DEFINE_integer("frames", 64, "T of the exported graphs.")
flags.DEFINE_bool("batch16", True, "Also export float32 TFLite at batch 16 and report its throughput.")
flags.DEFINE_string("output", None, "Also write the JSON here.")
flags.DEFINE_bool("reuse", False, "Reuse the exports already in --out_dir (their reports say which gates failed).")
flags.DEFINE_list("latency_quantization", ["float32", "int8"], "TFLite variants of --latency_models.")
FLAGS = flags.FLAGS


def prepare_check_set(work):
    """The 60 shared NTU files as a prepared split (real clips for calibration and checks)."""
    from data_tools import ntu

    out = os.path.join(work, "ntu_check")
    if not os.path.isfile(os.path.join(out, "xview", "meta.json")):
        ntu.convert([FLAGS.ntu_raw], out, "ntu60", workers=1)
    return os.path.join(out, "xview")


def convert_fixture(model, work):
    from keras_skeleton import convert

    folder, name = FIXTURES[model]
    path = os.path.join(work, f"{model}.keras")
    if not os.path.isfile(path):
        convert.convert(model, os.path.join(FLAGS.parity_dir, folder, name), path)
    return path


def runner(path):
    from export import benchmark

    if path.endswith(".tflite"):
        return benchmark.tflite_runner(path, 1)
    if path.endswith(".onnx"):
        return benchmark.onnx_runner(path, 1, 1)
    return benchmark.tensorflow_runner(path, 1, 1, FLAGS.frames)


def main(argv):
    del argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    from export import benchmark, export_model
    from benchmarks.common import cpu_model

    for model in FLAGS.models + FLAGS.latency_models:
        if model not in FIXTURES:
            raise SystemExit(f"error: no parity fixture for '{model}' (known: {', '.join(FIXTURES)})")
    # The SavedModel is timed on one thread like every other file; TensorFlow fixes its thread pools
    # when first used (an export uses it), so they are set before anything else.
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    work = FLAGS.out_dir or tempfile.mkdtemp(prefix="deploy_table.")
    os.makedirs(work, exist_ok=True)
    check_dir = prepare_check_set(work)

    rows, files, gates = [], [], {}
    for model in FLAGS.models + FLAGS.latency_models:
        full = model in FLAGS.models
        started = time.perf_counter()
        report_path = os.path.join(work, model, "export_report.json")
        report = None
        if FLAGS.reuse and os.path.isfile(report_path):
            with open(report_path) as f:
                report = json.load(f)
            print(f"{model}: reusing {report_path}", flush=True)
        if report is None:
            try:
                report = export_model.export(
                    convert_fixture(model, work), os.path.join(work, model), num_frames=FLAGS.frames,
                    num_persons=2, formats=("saved_model", "tflite", "onnx") if full else ("tflite",),
                    quantization=FULL_QUANTIZATIONS if full else tuple(FLAGS.latency_quantization),
                    calibration_data=check_dir, check_samples=60, calibration_samples=60)
            except export_model.ExportError as e:          # the report is written before the gates raise
                print(f"{model}: {e}", flush=True)
                if not os.path.isfile(report_path):        # a conversion failed: no report, no files to time
                    gates[model] = [str(e)]
                    continue
                with open(report_path) as f:
                    report = json.load(f)
            print(f"{model}: exported in {time.perf_counter() - started:.0f} s, gates failed: "
                  f"{report.get('gates_failed') or 'none'}", flush=True)
        gates[model] = report.get("gates_failed", [])
        macs = report["files"]["tflite_float32"]["macs"]
        for kind, entry in report["files"].items():
            row = {"model": model, "format": kind, "bytes": entry["bytes"], "max_abs_diff": entry.get("max_abs_diff"),
                   "top1_agreement": entry.get("top1_agreement"), "macs": macs,
                   "xnnpack": entry.get("xnnpack"), "path": entry["path"]}
            rows.append(row)
            files.append((row, entry["path"]))
        if FLAGS.batch16 and full:
            out16 = os.path.join(work, f"{model}_batch16")
            if not (FLAGS.reuse and os.path.isfile(os.path.join(out16, "model_float32.tflite"))):
                try:
                    export_model.export(os.path.join(work, f"{model}.keras"), out16, num_frames=FLAGS.frames,
                                        num_persons=2, batch=16, formats=("tflite",), quantization=("float32",),
                                        calibration_data=check_dir, check_samples=16)
                except export_model.ExportError as e:      # file and report are written; see gates above
                    print(f"{model} batch 16: {e}", flush=True)
            row = {"model": model, "format": "tflite_float32_batch16", "macs": macs * 16,
                   "bytes": os.path.getsize(os.path.join(out16, "model_float32.tflite"))}
            rows.append(row)
            files.append((row, os.path.join(out16, "model_float32.tflite")))

    # Latency: all files loaded, then timed round-robin (one run of each file per round).
    loaded = []
    for row, path in files:
        run, shape = runner(path)
        x = np.random.default_rng(0).normal(0, 0.3, shape).astype(np.float32)
        for _ in range(3):
            run(x)
        loaded.append((row, run, x, []))
    peaks = [benchmark.matmul_peak_gflops()]
    for round_index in range(FLAGS.runs):
        for row, run, x, times in loaded:
            start = time.perf_counter()
            run(x)
            times.append(time.perf_counter() - start)
        if round_index == FLAGS.runs // 2:
            peaks.append(benchmark.matmul_peak_gflops())
    peaks.append(benchmark.matmul_peak_gflops())
    peak = statistics.median(peaks)
    for row, _, x, times in loaded:
        p50 = statistics.median(times)
        row["p50_ms"] = round(p50 * 1e3, 2)
        row["p90_ms"] = round(float(np.percentile(times, 90)) * 1e3, 2)
        row["clips_per_s"] = round(x.shape[0] / p50, 2)
        row["floor_ratio_own_macs"] = benchmark.floor_ratio(p50, peak, row["macs"])
        reference = REFERENCE_MACS.get(row["model"])
        if reference:
            row["floor_ratio_reference_macs"] = benchmark.floor_ratio(p50, peak, reference * x.shape[0])

    def p50_by_model(file_format):
        return {r["model"]: r["p50_ms"] for r in rows if r["format"] == file_format}

    fp32 = p50_by_model("tflite_float32")

    def speedup_over_float32(file_format):
        return {m: round(fp32[m] / p50, 3) for m, p50 in p50_by_model(file_format).items() if m in fp32}

    summary = {
        "benchmark": "deploy_table", "date": time.strftime("%Y-%m-%d"), "machine": cpu_model(),
        "cpu_count": os.cpu_count(), "threads": 1, "frames": FLAGS.frames, "persons": 2, "runs": FLAGS.runs,
        "matmul_peak_gflops_1thread": round(peak, 1), "matmul_peak_samples": [round(p, 1) for p in peaks],
        "gates_failed": gates,
        "int8_speedup_over_float32": speedup_over_float32("tflite_int8"),
        "dynamic_int8_speedup_over_float32": speedup_over_float32("tflite_dynamic_int8"),
        "light_speedup_over_ctrgcn": {m: round(fp32["ctrgcn"] / fp32[m], 3) for m in fp32 if m != "ctrgcn"}
        if "ctrgcn" in fp32 else {},
        "rows": [{k: v for k, v in r.items() if k != "path"} for r in rows]}
    print_table(rows, peak)
    if FLAGS.output:
        from data_tools.prepared import atomic_write_json
        atomic_write_json(FLAGS.output, summary)
    print(json.dumps(summary))


def print_table(rows, peak):
    print(f"\nsingle-thread numpy matmul peak: {peak:.1f} GFLOP/s\n")
    print("| model | format | size (MB) | max abs diff | top-1 agreement | XNNPACK nodes | p50 (ms) | clips/s "
          "| floor ratio (own / ref MACs) |")
    print("|---|---|---:|---:|---:|---|---:|---:|---:|")
    for r in rows:
        xnn = r.get("xnnpack") or {}
        nodes = f"{xnn['delegated_nodes']}/{xnn['nodes']}" if xnn else ""
        diff = f"{r['max_abs_diff']:.2g}" if r.get("max_abs_diff") is not None else ""
        agree = f"{100 * r['top1_agreement']:.1f} %" if r.get("top1_agreement") is not None else ""
        ratio = f"{r['floor_ratio_own_macs']:.2f}"
        if r.get("floor_ratio_reference_macs"):
            ratio += f" / {r['floor_ratio_reference_macs']:.2f}"
        print(f"| {r['model']} | {r['format']} | {r['bytes'] / 1e6:.2f} | {diff} | {agree} | {nodes} | "
              f"{r['p50_ms']:.1f} | {r['clips_per_s']:.1f} | {ratio} |")


if __name__ == "__main__":
    app.run(main)
