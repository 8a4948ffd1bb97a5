"""Classify a recording with a TFLite model through the LiteRT runtime alone (numpy + ai-edge-litert).

    python -m apps.predict --model=OUT/model_float32.tflite --input=S001C001P001R001A023.skeleton [--top_k=5]

Preprocessing is the evaluation path of training: valid frames centre-cropped (95 %) and linearly
resized to the model's T (or, for a model trained with the NW-UCLA feeder -- ``"sampling": "ucla"`` in
model_info.json -- centred, min-max normalised and sampled evenly), persons padded or cut to its M, then
turned into the model's input stream (``"modality"``: joint, bone, joint_motion or bone_motion, with the
layout's ``"bone_pairs"``). Class names come from ``--labels`` (one per line) or ``labels.txt`` next to the
model. Prints the top-k classes, then one JSON line.
TensorFlow is never imported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import List, Optional

import numpy as np

from apps.recordings import RecordingError, fit_persons, read_recording
from data_tools import transforms

DEFAULT_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "model_float32.tflite")


class Classifier:
    """A LiteRT interpreter plus the model's metadata; ``predict(joints, num_frames)`` -> probabilities."""

    def __init__(self, model_path: str, labels_path: Optional[str] = None, num_threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        if not os.path.isfile(model_path):
            raise RecordingError(f"{model_path}: model file not found")
        try:
            self.interpreter = Interpreter(model_path=model_path, num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise RecordingError(f"{model_path}: not a loadable TFLite model ({e})") from None
        detail = self.interpreter.get_input_details()[0]
        self.input_index = detail["index"]
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        shape = tuple(int(v) for v in detail["shape"])
        if len(shape) != 5:
            raise RecordingError(f"{model_path}: model input has shape {shape}; expected (1, M, T, V, C)")
        self.batch, self.persons, self.frames, self.joints, self.channels = shape
        folder = os.path.dirname(os.path.abspath(model_path))
        info_path = os.path.join(folder, "model_info.json")
        self.info = {}
        if os.path.isfile(info_path):
            try:
                with open(info_path) as f:
                    self.info = json.load(f)
            except (OSError, ValueError) as e:
                raise RecordingError(f"{info_path}: unreadable model info ({e})") from None
        self.modality = self.info.get("modality") or "joint"
        self.bone_pairs = [tuple(pair) for pair in self.info.get("bone_pairs") or ()]
        if self.modality not in transforms.MODALITIES:
            raise RecordingError(f"{info_path}: unknown modality '{self.modality}'")
        if self.modality.startswith("bone") and len(self.bone_pairs) != self.joints:
            raise RecordingError(f"{info_path}: modality {self.modality} needs one bone pair per joint "
                                 f"({self.joints}), found {len(self.bone_pairs)}")
        self.labels = self._labels(labels_path or os.path.join(folder, "labels.txt"))
        self.last_latency_ms = 0.0

    @staticmethod
    def _labels(path: str) -> Optional[List[str]]:
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                return [line.rstrip("\n") for line in f if line.strip()]
        return None

    def label(self, index: int) -> str:
        return self.labels[index] if self.labels and index < len(self.labels) else f"class {index}"

    def check(self, joints: np.ndarray, source: str) -> None:
        _, _, v, c = joints.shape
        if (v, c) != (self.joints, self.channels):
            layout = self.info.get("layout") or f"V={self.joints}, C={self.channels}"
            raise RecordingError(f"{source}: recording has V={v}, C={c} but the model ({layout}) expects "
                                 f"V={self.joints}, C={self.channels}")

    def preprocess(self, joints: np.ndarray, num_frames: int) -> np.ndarray:
        # The evaluation preprocessing of the training run (model_info.json "sampling" and "modality",
        # written by the exporter): CTR-GCN crop-resize, or the NW-UCLA feeder for models trained with it,
        # then the input stream (bone and motion come after sampling, as in the training feeder).
        joints = fit_persons(joints, self.persons)
        sampling = self.info.get("sampling") or "crop_resize"
        clips = transforms.evaluation_clips(joints[None], np.array([num_frames]), self.frames, sampling)
        return transforms.apply_modality(clips, self.modality, self.bone_pairs)[0]

    def predict(self, joints: np.ndarray, num_frames: int) -> np.ndarray:
        clip = self.preprocess(joints, num_frames)
        batch = np.repeat(clip[None], self.batch, axis=0).astype(np.float32)
        start = time.perf_counter()
        self.interpreter.set_tensor(self.input_index, batch)
        self.interpreter.invoke()
        logits = self.interpreter.get_tensor(self.output_index)[0].astype(np.float64)
        self.last_latency_ms = (time.perf_counter() - start) * 1000.0
        probabilities = np.exp(logits - logits.max())
        return probabilities / probabilities.sum()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="TFLite model (default: the bundled demo model).")
    parser.add_argument("--input", required=True, help="Recording: .skeleton, .npy, .json or .pkl.")
    parser.add_argument("--labels", default=None, help="Class names, one per line.")
    parser.add_argument("--top_k", type=int, default=5)
    parser.add_argument("--index", type=int, default=0, help="Sample index in a prepared array or PYSKL dataset.")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        classifier = Classifier(args.model, args.labels, args.threads)
        recording = read_recording(args.input, args.index)
        classifier.check(recording.joints, args.input)
        probabilities = classifier.predict(recording.joints, recording.num_frames)
    except RecordingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    order = np.argsort(-probabilities)[:args.top_k]
    for rank, index in enumerate(order, start=1):
        print(f"{rank}. {classifier.label(int(index))}: {100 * probabilities[index]:.1f} %")
    print(json.dumps({"input": args.input, "top1": classifier.label(int(order[0])), "top1_index": int(order[0]),
                      "probability": float(probabilities[order[0]]), "latency_ms": round(classifier.last_latency_ms, 2),
                      "top_k": [[classifier.label(int(i)), float(probabilities[i])] for i in order]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
