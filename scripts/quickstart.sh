#!/usr/bin/env bash
# The README's main job: install, generate + prepare the synthetic NTU-format data, train, evaluate,
# export to TFLite and classify a held-out recording with the LiteRT-only predictor.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export TF_CPP_MIN_LOG_LEVEL=3
PY=.venv/bin/python
RUN=${RUN:-runs/quickstart}
START=$(date +%s)
$PY -m keras_skeleton.train --flagfile=configs/quickstart.flags --model_dir="$RUN" --verbose=2
$PY -m keras_skeleton.evaluate --flagfile=configs/quickstart.flags --model_path="$RUN/model.keras" \
    --output_json="$RUN/eval.json"
if [ -f export/export_model.py ]; then
  $PY -m export.export_model --model_path="$RUN/model.keras" --output_dir="$RUN/export" \
      --formats=tflite --quantization=float32 --num_frames=32
  SAMPLE=$(ls data/synthetic/raw/S001C001P003R001A023.skeleton)
  $PY -m apps.predict --model="$RUN/export/model_float32.tflite" --input="$SAMPLE" --top_k=3
fi
echo "quickstart finished in $(( $(date +%s) - START )) s; held-out top-1: $($PY -c "import json;print(json.load(open('$RUN/metrics.json'))['top1'])") %"
