"""Export gates and the LiteRT-only predictor."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT, shared_path


@pytest.fixture(scope="module")
def light_model(tmp_path_factory):
    """CTRGCN_light with the official (parity fixture) weights: realistic logits for parity gates."""
    from keras_skeleton.convert import convert
    path = str(tmp_path_factory.mktemp("light") / "ctrgcn_light.keras")
    convert("ctrgcn_light", shared_path("parity", "ctrgcn_light_ntu60", "model.pdparams"), path, num_classes=60)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A two-layer model on the raw-joint input (mean, dense): for gates and tools that do not depend on the
    architecture, converted in seconds."""
    import keras
    inputs = keras.Input((2, None, 25, 3), name="joints")
    outputs = keras.layers.Dense(5, name="fc")(keras.layers.GlobalAveragePooling3D()(inputs))
    path = str(tmp_path_factory.mktemp("tiny") / "tiny.keras")
    keras.Model(inputs, outputs).save(path)
    return path


@pytest.fixture(scope="module")
def fixture_clips(tmp_path_factory):
    """The parity fixture's real NTU input as a prepared dataset (its random weights give sane logits there)."""
    from data_tools.prepared import write_meta, write_split
    folder = str(tmp_path_factory.mktemp("clips"))
    joints = np.load(shared_path("parity", "ctrgcn_light_ntu60", "input.npy")).transpose(0, 4, 2, 3, 1)
    write_split(folder, "val", ["a", "b"], [0, 1], joints, num_persons=2, max_frames=64, num_joints=25,
                num_channels=3)
    write_meta(folder, "ntu25", 60, splits={"val": 2}, max_frames=64)
    return folder


def test_export_passes_gates_and_reports(light_model, fixture_clips, tmp_path):
    from export.export_model import export
    report = export(light_model, str(tmp_path), num_frames=64, formats=("tflite", "onnx"),
                    quantization=("float32", "dynamic_int8"), calibration_data=fixture_clips)
    files = report["files"]
    assert files["tflite_float32"]["max_abs_diff"] <= 1e-4 and files["onnx"]["max_abs_diff"] <= 1e-4
    assert files["tflite_float32"]["top1_agreement"] == 1.0
    assert files["tflite_float32"]["max_tensor_rank"] <= 4            # rank <= 4 once the (N, M, T, V, C) input is reshaped
    assert files["tflite_float32"]["xnnpack"]["undelegated"] == []
    assert files["tflite_dynamic_int8"]["bytes"] < files["tflite_float32"]["bytes"] / 2
    assert files["tflite_float32"]["macs"] > 0
    info = json.load(open(tmp_path / "model_info.json"))
    assert info["num_frames"] == 64 and info["num_persons"] == 2
    assert json.load(open(tmp_path / "export_report.json"))["gates_failed"] == []


def run_export(*args):
    return subprocess.run([sys.executable, "-m", "export.export_model", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def test_size_and_parity_gates_fail_when_they_should(light_model, tmp_path):
    # One export, two failing gates: both are reported, each naming its file.
    result = run_export(f"--model_path={light_model}", f"--output_dir={tmp_path / 'a'}", "--num_frames=16",
                        "--formats=onnx", "--max_size_mb=0.1", "--tolerance=1e-12", "--check_samples=4")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "size gate: " in result.stderr and "parity gate: " in result.stderr
    assert result.stderr.count("model.onnx") >= 2, result.stderr[-2000:]


def test_builtin_ops_gate(tiny_model, tmp_path, monkeypatch):
    from export import export_model, tflite_tools
    monkeypatch.setattr(tflite_tools, "op_histogram", lambda path: {"CONV_2D": 3, "FlexErf": 1})
    with pytest.raises(export_model.ExportError, match="builtin-ops gate"):
        export_model.export(tiny_model, str(tmp_path), num_frames=16, formats=("tflite",), check_samples=2,
                            tolerance=1e9)


def test_missing_model_is_one_line(tmp_path):
    result = run_export(f"--model_path={tmp_path / 'none.keras'}", f"--output_dir={tmp_path}")
    assert result.returncode != 0 and "not found" in result.stderr and "Traceback" not in result.stderr


def test_predictor_imports_no_tensorflow_and_reports_errors(tiny_model, tmp_path):
    from export.export_model import export
    export(tiny_model, str(tmp_path), num_frames=16, formats=("tflite",), check_samples=2, tolerance=1e9)
    model = tmp_path / "model_float32.tflite"
    clip = tmp_path / "clip.npy"
    np.save(clip, np.random.default_rng(0).normal(0, 0.3, (2, 40, 25, 3)).astype("float32"))
    probe = ("import sys, apps.predict as p; code = p.main(['--model', sys.argv[1], '--input', sys.argv[2]]); "
             "print('TF_IMPORTED' if ('tensorflow' in sys.modules or 'keras' in sys.modules) else 'TF_FREE'); "
             "sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", probe, str(model), str(clip)], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "TF_FREE" in result.stdout and '"top1"' in result.stdout
    ucla = tmp_path / "a01_s01_e00_v01.json"
    ucla.write_text(json.dumps({"file_name": "a01", "skeletons": np.zeros((5, 20, 3)).tolist(), "label": 1}))
    for bad, message in ((ucla, "V=20"), (tmp_path / "missing.skeleton", "not found")):
        result = subprocess.run([sys.executable, "-m", "apps.predict", f"--model={model}", f"--input={bad}"],
                                cwd=REPO_ROOT, capture_output=True, text=True)
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr


def test_bone_model_exports_and_predicts_in_its_own_stream(tiny_model, tmp_path):
    """A model whose card says bone is checked on bone clips and the predictor feeds it bones."""
    import shutil

    import keras

    from apps.predict import Classifier
    from data_tools import transforms
    from export.export_model import ExportError, export
    from keras_skeleton import graphs
    from keras_skeleton.model_card import write_model_card
    model_path = str(tmp_path / "bone.keras")
    shutil.copy(tiny_model, model_path)
    write_model_card(model_path, model="tiny", modality="bone", layout="ntu25")
    with pytest.raises(ExportError, match="was trained on bone"):
        export(model_path, str(tmp_path / "refused"), num_frames=16, formats=("tflite",), modality="joint")
    out = tmp_path / "out"
    report = export(model_path, str(out), num_frames=16, formats=("tflite",), check_samples=2)
    info = json.loads((out / "model_info.json").read_text())
    pairs = graphs.get_layout("ntu25").bone_pairs()
    assert report["modality"] == info["modality"] == "bone" and info["layout"] == "ntu25"
    assert [tuple(p) for p in info["bone_pairs"]] == pairs

    joints = np.random.default_rng(1).normal(0, 0.3, (2, 40, 25, 3)).astype(np.float32)
    joints[1] = 0
    clip = transforms.evaluation_clips(joints[None], np.array([40]), 16)
    model = keras.saving.load_model(model_path, compile=False)
    bones = transforms.apply_modality(clip, "bone", pairs)
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(model(bones)))[0]
    classifier = Classifier(str(out / "model_float32.tflite"))
    # The predictor's input is the bone clip (which is not the joint clip), and its output the model's on it.
    np.testing.assert_allclose(classifier.preprocess(joints, 40), bones[0], atol=1e-6)
    assert np.abs(bones - clip).max() > 0.1
    np.testing.assert_allclose(classifier.predict(joints, 40), expected, atol=1e-5)


def test_latency_benchmark_cli_and_single_thread_peak(tiny_model, tmp_path, monkeypatch):
    from export import benchmark
    from export.export_model import export
    export(tiny_model, str(tmp_path), num_frames=16, formats=("tflite",), check_samples=2, tolerance=1e9)
    result = subprocess.run([sys.executable, "-m", "export.benchmark", f"--model={tmp_path / 'model_float32.tflite'}",
                             "--runs=3", "--warmup=1", "--reference_macs=2e9"],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["runtime"] == "litert" and report["p50_ms"] > 0 and report["matmul_peak_gflops_1thread"] > 0
    # floor_ratio_reference is floor_ratio (latency * peak / (2 * MACs)) with the reference's MACs in place
    # of this graph's: their ratio is the ratio of the two counts.
    assert report["reference_macs"] == 2_000_000_000
    assert report["floor_ratio_reference"] == pytest.approx(report["floor_ratio"] * report["macs"] / 2e9,
                                                            rel=1e-3, abs=1e-3)
    # This process has numpy (and its BLAS threads) loaded already: the peak must come from a child
    # started with one BLAS thread, or the "single-thread" floor would use every core.
    environments = []
    real_run = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: environments.append(k.get("env")) or real_run(*a, **k))
    assert benchmark.matmul_peak_gflops(size=64, repeats=1) > 0
    assert environments and environments[0]["OPENBLAS_NUM_THREADS"] == "1" and environments[0]["OMP_NUM_THREADS"] == "1"


def test_op_profile_one_op_files_reproduce_the_graph(tmp_path):
    # Every op cut out of a file must compute what it computes inside the file (same options, same
    # constants), or the per-op times of benchmarks.op_profile would describe other ops.
    import keras
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from benchmarks.op_profile import split_ops
    from export.export_model import convert_tflite
    from export.tflite_tools import op_histogram

    inputs = keras.Input((8, 5, 6), batch_size=2)
    y = keras.layers.Conv2D(6, (3, 1), padding="same", activation="relu")(inputs)
    y = keras.layers.Dense(4)(keras.layers.Add()([y, inputs]))
    y = keras.ops.matmul(keras.ops.transpose(y, (0, 1, 3, 2)), y)
    path = tmp_path / "small.tflite"
    path.write_bytes(convert_tflite(keras.Model(inputs, y), "float32"))
    models, op_names, keys, empty = split_ops(path.read_bytes())
    assert len(op_names) == sum(op_histogram(str(path)).values()) >= 4 and "CONV_2D" in op_names
    assert len(models) == len(set(keys))
    full = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True,
                       experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    full.allocate_tensors()
    x = np.random.default_rng(0).normal(size=(2, 8, 5, 6)).astype(np.float32)
    full.set_tensor(full.get_input_details()[0]["index"], x)
    full.invoke()
    checked = 0
    for key, content in models.items():
        one = Interpreter(model_content=content)
        one.allocate_tensors()
        for detail in one.get_input_details():
            one.set_tensor(detail["index"], full.get_tensor(detail["index"]))
        one.invoke()
        for detail in one.get_output_details():
            np.testing.assert_allclose(one.get_tensor(detail["index"]), full.get_tensor(detail["index"]),
                                       rtol=1e-5, atol=1e-5, err_msg=key[0])
            checked += 1
    assert checked == len(models)
    Interpreter(model_content=empty).allocate_tensors()
    result = subprocess.run([sys.executable, "-m", "benchmarks.op_profile", f"--model={path}", "--runs=2"],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ops"] == len(op_names) and sum(v["count"] for v in report["by_type"].values()) == len(op_names)
    assert report["whole_p50_ms"] > 0 and report["mac_ops_ms"] <= report["sum_of_ops_ms"]


def test_full_int8_input_quantize_counts_as_the_input(tmp_path):
    # Full int8 with float I/O quantises the rank-5 input before the reshape; the rank rule is about the graph
    # after that reshape, so the int8 copy must not read as a rank-5 tensor inside it.
    import keras
    from export.export_model import convert_tflite
    from export.tflite_tools import max_tensor_rank, op_histogram
    inputs = keras.Input((2, 8, 25, 3), batch_size=1, name="joints")
    hidden = keras.layers.Dense(4, name="fc1")(keras.layers.Reshape((2 * 8, 25 * 3))(inputs))
    model = keras.Model(inputs, keras.layers.Dense(5, name="fc2")(keras.layers.Flatten()(hidden)))
    calibration = np.random.default_rng(0).normal(size=(4, 2, 8, 25, 3)).astype(np.float32)
    path = tmp_path / "int8.tflite"
    path.write_bytes(convert_tflite(model, "int8", calibration=calibration))
    assert "QUANTIZE" in op_histogram(str(path))
    assert max_tensor_rank(str(path), include_inputs=True) == 5
    assert max_tensor_rank(str(path)) <= 4
