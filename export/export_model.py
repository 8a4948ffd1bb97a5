"""Export a trained ``.keras`` model to SavedModel, TFLite (float32 / float16 / dynamic_int8 / int8) and ONNX.

    python -m export.export_model --model_path=M.keras --output_dir=OUT [--num_frames=64] [--num_persons=2]
        [--formats=saved_model,tflite,onnx] [--quantization=float32,float16,dynamic_int8,int8]
        [--calibration_data=PREPARED_DIR] [--max_size_mb=10]

Every graph has a static input ``(batch, M, T, V, C)``. ``OUT/export_report.json`` lists, per file, its bytes,
the max abs logit difference and top-1 agreement against the Keras model on a check set (the calibration data's
evaluation clips if given, else synthetic clips), its op histogram, its largest tensor rank and XNNPACK's
delegation. Gates (non-zero exit, naming the gate): a file above ``--max_size_mb``; float32 TFLite or ONNX
further than ``--tolerance`` (1e-4) from Keras; a TFLite graph needing Flex/custom ops. ``OUT/labels.txt`` and
``OUT/model_info.json`` (layout, classes, T, M, sampling, and the input stream with its bone pairs) let the
LiteRT predictor run without TensorFlow. The input stream (joint, bone, joint_motion, bone_motion) is the one
the model's card or run ``config.json`` records (see ``keras_skeleton.model_card``), else ``--modality``, else
joint; check and calibration clips are computed in that stream, as the predictor's input is.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS


def define_flags():
    """Defined only when run as a command, so importing this module never clashes with other flags."""
    flags.DEFINE_string("model_path", None, "Trained .keras model.")
    flags.DEFINE_string("output_dir", None, "Output directory.")
    flags.DEFINE_integer("num_frames", 0, "Static T of the exported graph (0 = the model's, else the training "
                         "run's --window from config.json beside the model, else 64).")
    flags.DEFINE_integer("num_persons", 0, "Static M (0 = the model's).")
    flags.DEFINE_integer("batch", 1, "Static batch size.")
    flags.DEFINE_list("formats", ["saved_model", "tflite", "onnx"], "saved_model, tflite, onnx.")
    flags.DEFINE_list("quantization", ["float32"], "TFLite variants: float32, float16, dynamic_int8, int8.")
    flags.DEFINE_string("calibration_data", None, "Prepared dataset for int8 calibration and the check set.")
    flags.DEFINE_integer("calibration_samples", 64, "Clips used for int8 calibration.")
    flags.DEFINE_integer("check_samples", 64, "Clips in the parity check set.")
    flags.DEFINE_float("max_size_mb", 10.0, "Size gate for every exported file (MB = 1e6 bytes).")
    flags.DEFINE_float("tolerance", 1e-4, "Max abs logit difference allowed for float32 TFLite and ONNX.")
    flags.DEFINE_string("meta", None, "Dataset meta.json for labels (default: meta.json next to the model).")
    flags.DEFINE_enum("sampling", None, ["crop_resize", "ucla"], "Check-set preprocessing (default: the training "
                      "run's --sampling from the model's card or config.json, else crop_resize).")
    flags.DEFINE_enum("modality", None, ["joint", "bone", "joint_motion", "bone_motion"],
                      "Input stream, for a model that records none (default: its card or config.json, else joint).")



QUANTIZATIONS = ("float32", "float16", "dynamic_int8", "int8")


class ExportError(RuntimeError):
    """A failed gate or an unusable input (message names it)."""


def fixed_model(model, batch, persons, frames):
    """Rebuilds ``model`` on a static ``(batch, M, T, V, C)`` input (same weights)."""
    import keras

    _, _, _, joints, channels = model.input_shape
    inputs = keras.Input((persons, frames, joints, channels), batch_size=batch, name="joints")
    outputs = model(inputs, training=False)
    return keras.Model(inputs, outputs, name=f"{model.name}_static")


def run_setting(model_path, name):
    """A setting of the training run that wrote ``model_path`` (its card, else config.json), or None."""
    from keras_skeleton.model_card import recorded_setting
    try:
        return recorded_setting(model_path, name)[0]
    except ValueError as e:
        raise ExportError(str(e)) from None


def input_stream(model_path, modality, layout_name):
    """(modality, bone pairs) the model is fed: the recorded stream wins; a contradicting one is refused."""
    from keras_skeleton import graphs
    from keras_skeleton.model_card import resolve_modality
    try:
        modality = resolve_modality(model_path, modality, "--modality") or "joint"
    except ValueError as e:
        raise ExportError(str(e)) from None
    if not modality.startswith("bone"):
        return modality, []
    if not layout_name:
        raise ExportError(f"model '{model_path}' takes {modality}, whose bones need the layout: give --meta")
    try:
        return modality, graphs.get_layout(layout_name).bone_pairs()
    except ValueError as e:
        raise ExportError(f"model '{model_path}': {e}") from None


def run_sampling(model_path):
    """The ``--sampling`` of the training run that wrote ``model_path``; crop_resize when unknown."""
    sampling = run_setting(model_path, "sampling")
    return sampling if sampling in ("crop_resize", "ucla") else "crop_resize"


def check_clips(meta, shape, count, data_dir=None, seed=0, sampling="crop_resize", with_labels=False):
    """Evaluation clips of a prepared dataset (preprocessed as evaluation does) or synthetic ones.

    With ``with_labels`` returns ``(clips, labels)``; labels are None for synthetic clips.
    """
    _, persons, frames, joints, channels = shape
    if data_dir:
        from data_tools.prepared import PreparedSplit
        split_name = "val" if os.path.isfile(os.path.join(data_dir, "val_data.npy")) else "train"
        split = PreparedSplit(data_dir, split_name)
        split.check_layout(joints, channels)
        index = np.linspace(0, len(split) - 1, min(count, len(split))).astype(int)
        from data_tools import transforms
        if sampling not in transforms.EVALUATION_SAMPLINGS:
            raise ExportError(f"sampling '{sampling}' is not supported for export checks "
                              f"({', '.join(transforms.EVALUATION_SAMPLINGS)})")
        clips = transforms.evaluation_clips(np.asarray(split.data[index]), split.num_frames[index], frames, sampling)
        if clips.shape[1] != persons:
            raise ExportError(f"{data_dir}: {clips.shape[1]} persons in the data, the export has M={persons}")
        clips = clips.astype(np.float32)
        return (clips, np.asarray(split.labels)[index]) if with_labels else clips
    rng = np.random.default_rng(seed)
    if joints == 25 and channels == 3:
        clips = synthetic_ntu_clips(count, persons, frames, rng)
        return (clips, None) if with_labels else clips
    # Plausible skeleton-scale values (metres), smooth in time, second person sometimes absent.
    base = rng.normal(0, 0.4, (count, persons, 1, joints, channels))
    motion = np.cumsum(rng.normal(0, 0.02, (count, persons, frames, joints, channels)), axis=2)
    clips = (base + motion).astype(np.float32)
    clips[rng.random(count) < 0.5, 1:] = 0.0
    return (clips, None) if with_labels else clips


def synthetic_ntu_clips(count, persons, frames, rng):
    """NTU-layout clips from the synthetic motion generator, centred and resized as evaluation does."""
    from data_tools import synthetic, transforms

    actions = sorted(synthetic.ACTIONS)
    clips = np.zeros((count, persons, frames, 25, 3), np.float32)
    for i in range(count):
        bodies = synthetic.synthesize_clip(actions[i % len(actions)], 1 + i % 3, rng)[:persons]
        bodies = bodies - bodies[0, 0, 1]                          # joint 2 of actor 1, first frame
        clip = np.zeros((persons,) + bodies.shape[1:], np.float32)
        clip[:len(bodies)] = bodies
        clips[i] = transforms.crop_resize(clip[None], np.array([clip.shape[1]]), frames, [0.95], min_crop=frames)[0]
    return clips


def convert_tflite(model, quantization, calibration=None):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "dynamic_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantization == "int8":
        if calibration is None:
            raise ExportError("int8 needs --calibration_data (a prepared dataset) for its representative set")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]

        def representative():
            for clip in calibration:
                yield [clip[None].repeat(model.input_shape[0], axis=0)]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        content = converter.convert()
    except Exception as e:  # noqa: BLE001 - converter errors are long MLIR dumps; keep the first line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ExportError(f"TFLite conversion ({quantization}) failed: {first}") from None
    return strip_names(content)


def strip_names(content: bytes) -> bytes:
    """Drops tensor and op names from the flatbuffer (about 3 % of CTR-GCN's file; never read at runtime)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    flatbuffer_utils.strip_strings(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def keras_logits(model, clips):
    batch = model.input_shape[0]
    outputs = []
    for start in range(0, len(clips), batch):
        chunk = clips[start:start + batch]
        pad = batch - len(chunk)
        if pad:
            chunk = np.concatenate([chunk, np.zeros((pad,) + chunk.shape[1:], np.float32)])
        outputs.append(np.asarray(model(chunk, training=False))[:batch - pad])
    return np.concatenate(outputs)


def compare(reference, logits, labels=None):
    """Max |logit difference| and top-1 agreement with the Keras logits; top-1 accuracy when labelled."""
    result = {"max_abs_diff": float(np.abs(reference - logits).max()),
              "top1_agreement": float(np.mean(reference.argmax(1) == logits.argmax(1)))}
    if labels is not None:
        result["top1_accuracy"] = float(np.mean(logits.argmax(1) == labels))
    return result


def export_onnx(model, path):
    import tensorflow as tf
    import tf2onnx

    spec = [tf.TensorSpec(model.input_shape, tf.float32, name="joints")]

    @tf.function(input_signature=spec)
    def serve(joints):
        return {"logits": model(joints, training=False)}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=17)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def save_saved_model(model, path):
    """Writes ``model`` as a SavedModel with one ``serving_default`` signature ``joints -> logits``.

    Written through ``tf.saved_model.save`` with the plain ``tf.Variable`` objects tracked once:
    Keras' own export tracks each variable twice (its Keras wrapper and the TensorFlow variable),
    which doubles the checkpoint (11.5 MB instead of 5.8 MB for CTR-GCN).
    """
    import tensorflow as tf

    spec = tf.TensorSpec(model.input_shape, tf.float32, name="joints")

    @tf.function(input_signature=[spec])
    def serve(joints):
        return {"logits": model(joints, training=False)}

    module = tf.Module()
    module.variables_to_save = [v.value if hasattr(v, "value") and isinstance(v.value, tf.Variable) else v
                                for v in model.variables]
    module.serve = serve
    tf.saved_model.save(module, path, signatures={"serving_default": serve})


def run_in_batches(run, clips, batch):
    """``run`` over ``clips`` in static-size batches (the last one zero-padded, its padding dropped)."""
    outputs = []
    for start in range(0, len(clips), batch):
        chunk = clips[start:start + batch]
        pad = batch - len(chunk)
        if pad:
            chunk = np.concatenate([chunk, np.zeros((pad,) + chunk.shape[1:], np.float32)])
        outputs.append(run(chunk)[:batch - pad])
    return np.concatenate(outputs)


def run_saved_model(path, clips, batch):
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    return run_in_batches(lambda chunk: serve(joints=tf.constant(chunk))["logits"].numpy(), clips, batch)


def run_onnx(path, clips, batch):
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return run_in_batches(lambda chunk: session.run(None, {name: chunk})[0], clips, batch)


def load_meta(model_path, meta_path=None):
    path = meta_path or os.path.join(os.path.dirname(os.path.abspath(model_path)), "meta.json")
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    return {}


def export(model_path, output_dir, num_frames=0, num_persons=0, batch=1, formats=("tflite",),
           quantization=("float32",), calibration_data=None, max_size_mb=10.0, tolerance=1e-4, meta_path=None,
           calibration_samples=64, check_samples=64, sampling=None, modality=None):
    """Runs the export and its gates; returns the report. Raises ExportError naming the failed gates.

    ``sampling`` (check-set preprocessing, recorded in model_info.json for the predictor) defaults to
    the ``--sampling`` of the training run that wrote the model (its card or config.json), else crop_resize.
    ``modality``: the input stream, for a model that records none (else joint).
    """
    import keras
    import keras_skeleton  # noqa: F401  (registers the layers)
    from data_tools.prepared import atomic_path, atomic_write_json, atomic_write_text

    if not os.path.isfile(model_path):
        raise ExportError(f"model file '{model_path}' not found")
    unknown = [q for q in quantization if q not in QUANTIZATIONS]
    if unknown or any(f not in ("saved_model", "tflite", "onnx") for f in formats):
        raise ExportError(f"unknown format or quantization: {', '.join(unknown) or ','.join(formats)}")
    try:
        model = keras.saving.load_model(model_path, compile=False)
    except Exception as e:  # noqa: BLE001
        raise ExportError(f"cannot load '{model_path}': {e}") from None
    _, persons, frames, joints, channels = model.input_shape
    persons = num_persons or persons
    frames = num_frames or frames or run_setting(model_path, "window") or 64
    static = fixed_model(model, batch, persons, frames)
    meta = load_meta(model_path, meta_path)
    layout_name = meta.get("layout") or run_setting(model_path, "layout")
    modality, bone_pairs = input_stream(model_path, modality, layout_name)
    if bone_pairs and len(bone_pairs) != joints:
        raise ExportError(f"model '{model_path}' has V={joints} joints but its layout '{layout_name}' "
                          f"has {len(bone_pairs)}")
    os.makedirs(output_dir, exist_ok=True)
    sampling = sampling or run_sampling(model_path)
    from data_tools.transforms import apply_modality
    clips, labels = check_clips(meta, static.input_shape, check_samples, calibration_data, sampling=sampling,
                                with_labels=True)
    clips = apply_modality(clips, modality, bone_pairs)
    calibration = (apply_modality(check_clips(meta, static.input_shape, calibration_samples, calibration_data,
                                              sampling=sampling), modality, bone_pairs)
                   if calibration_data else None)
    reference = keras_logits(static, clips)
    report = {"model_path": model_path, "input_shape": list(static.input_shape),
              "check_set": calibration_data or "synthetic", "check_samples": int(len(clips)), "sampling": sampling,
              "modality": modality, "files": {}}
    if labels is not None:
        report["keras_top1_accuracy"] = float(np.mean(reference.argmax(1) == labels))
    failures = []

    def gate_size(name, path):
        size = os.path.getsize(path) if os.path.isfile(path) else sum(
            os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
        if size > max_size_mb * 1e6:
            failures.append(f"size gate: {name} is {size / 1e6:.2f} MB > --max_size_mb={max_size_mb}")
        return size

    if "saved_model" in formats:
        final = os.path.join(output_dir, "saved_model")
        tmp = tempfile.mkdtemp(prefix=".saved_model.", dir=output_dir)
        try:
            save_saved_model(static, tmp)
            if os.path.isdir(final):
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp)
        entry = {"path": final, "bytes": gate_size("saved_model", final),
                 **compare(reference, run_saved_model(final, clips, batch), labels)}
        report["files"]["saved_model"] = entry
        if entry["max_abs_diff"] > tolerance:
            failures.append(f"parity gate: {final} differs from Keras by {entry['max_abs_diff']:.3g} > {tolerance}")

    if "tflite" in formats:
        from export import tflite_tools
        from keras_skeleton.layers.ctrgcn import use_channels_first_inference
        for q in quantization:
            path = os.path.join(output_dir, f"model_{q}.tflite")
            # Float files take the channels-first CTR-GC aggregation (0.85x the latency under
            # XNNPACK); quantised ones the default form, whose weights sit in quantisable ops.
            use_channels_first_inference(static, q in ("float32", "float16"))
            try:
                content = convert_tflite(static, q, calibration)
            finally:
                use_channels_first_inference(static, False)
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as f:
                    f.write(content)
            ops = tflite_tools.op_histogram(path)
            entry = {"path": path, "bytes": gate_size(path, path), **compare(reference, tflite_tools.run_tflite(path, clips), labels),
                     "ops": ops, "max_tensor_rank": tflite_tools.max_tensor_rank(path),
                     "xnnpack": tflite_tools.xnnpack_report(path)}
            if q == "float32":
                entry["macs"] = tflite_tools.count_macs(path)
            report["files"][f"tflite_{q}"] = entry
            flex = [op for op in ops if op.startswith("Flex") or op == "CUSTOM" or op.startswith("Custom")]
            if flex:
                failures.append(f"builtin-ops gate: {path} needs non-builtin ops {flex}")
            if q == "float32" and entry["max_abs_diff"] > tolerance:
                failures.append(f"parity gate: {path} differs from Keras by {entry['max_abs_diff']:.3g} > {tolerance}")

    if "onnx" in formats:
        path = os.path.join(output_dir, "model.onnx")
        with atomic_path(path) as tmp:
            export_onnx(static, tmp)
        entry = {"path": path, "bytes": gate_size(path, path), **compare(reference, run_onnx(path, clips, batch), labels)}
        report["files"]["onnx"] = entry
        if entry["max_abs_diff"] > tolerance:
            failures.append(f"parity gate: {path} differs from Keras by {entry['max_abs_diff']:.3g} > {tolerance}")

    class_names = meta.get("class_names") or [f"class_{i}" for i in range(static.output_shape[-1])]
    atomic_write_text(os.path.join(output_dir, "labels.txt"), "".join(f"{n}\n" for n in class_names))
    atomic_write_json(os.path.join(output_dir, "model_info.json"), {
        "layout": layout_name, "num_classes": int(static.output_shape[-1]), "num_frames": int(frames),
        "num_persons": int(persons), "num_joints": int(joints), "num_channels": int(channels), "batch": int(batch),
        "class_names": class_names, "sampling": sampling, "modality": modality,
        "bone_pairs": [[int(j), int(r)] for j, r in bone_pairs], "source_model": os.path.abspath(model_path)})
    report["gates_failed"] = failures
    atomic_write_json(os.path.join(output_dir, "export_report.json"), report)
    if failures:
        raise ExportError("; ".join(failures))
    return report


def main(argv):
    del argv
    if not FLAGS.model_path or not FLAGS.output_dir:
        print("error: --model_path and --output_dir are required", file=sys.stderr)
        sys.exit(2)
    try:
        report = export(FLAGS.model_path, FLAGS.output_dir, FLAGS.num_frames, FLAGS.num_persons, FLAGS.batch,
                        FLAGS.formats, FLAGS.quantization, FLAGS.calibration_data, FLAGS.max_size_mb, FLAGS.tolerance,
                        FLAGS.meta, FLAGS.calibration_samples, FLAGS.check_samples, FLAGS.sampling, FLAGS.modality)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    for name, entry in report["files"].items():
        extra = (f", max |diff| {entry['max_abs_diff']:.2e}, top-1 agreement {100 * entry['top1_agreement']:.1f} %"
                 if "max_abs_diff" in entry else "")
        if "top1_accuracy" in entry:
            extra += f", top-1 accuracy {100 * entry['top1_accuracy']:.2f} % (Keras {100 * report['keras_top1_accuracy']:.2f} %)"
        print(f"{name}: {entry['path']} {entry['bytes'] / 1e6:.2f} MB{extra}")
    print(f"report: {os.path.join(FLAGS.output_dir, 'export_report.json')}")


if __name__ == "__main__":
    define_flags()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    app.run(main)
