#!/usr/bin/env bash
# Rebuilds the demo app's bundled assets (apps/assets/): trains the quickstart model on the synthetic
# NTU-format data (generated + prepared on first use into data/synthetic), exports it to a float32
# TFLite file with its labels.txt / model_info.json, and copies one held-out synthetic recording (performer 3
# is an X-Sub test subject; action 23, hand waving) next to it as synthetic_hand_waving.skeleton.
# ~4 min on 2 CPU cores.
#     bash scripts/build_demo_assets.sh            # PYTHON=/path/to/python to pick the interpreter
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
export TF_CPP_MIN_LOG_LEVEL=3
RUN=${RUN:-runs/demo_assets}
ASSETS=apps/assets
SAMPLE=data/synthetic/raw/S001C001P003R001A023.skeleton

"$PYTHON" -m keras_skeleton.train --flagfile=configs/quickstart.flags --model_dir="$RUN" --verbose=2
"$PYTHON" -m export.export_model --model_path="$RUN/model.keras" --output_dir="$RUN/export" \
    --formats=tflite --quantization=float32 --num_frames=32
mkdir -p "$ASSETS"
cp "$RUN/export/model_float32.tflite" "$RUN/export/labels.txt" "$RUN/export/model_info.json" "$ASSETS/"
cp "$SAMPLE" "$ASSETS/synthetic_hand_waving.skeleton"
# The bundled model must classify the bundled recording through the LiteRT-only path.
"$PYTHON" -m apps.predict --input="$ASSETS/synthetic_hand_waving.skeleton" --top_k=3
ls -l "$ASSETS"
