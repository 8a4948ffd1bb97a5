"""keras-skeleton: skeleton-based action recognition in Keras 3, from raw recordings to TFLite."""

__version__ = "0.1.0"

import os as _os

# TensorFlow turns its oneDNN CPU kernels on by default only on CPUs with AVX-512/AMX-class features; on
# others (e.g. AMD Zen 3, AVX2 only) it falls back to plain kernels that train CTR-GCN about 1.9x slower
# (benchmarks/README.md, "oneDNN on an AVX2-only CPU"). The variable is read when TensorFlow is imported,
# so it has to be set here, before the first Keras import; an explicit user setting always wins.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from keras_skeleton import graphs  # noqa: F401
from keras_skeleton import layers  # noqa: F401
from keras_skeleton import optim  # noqa: F401  (registers the optimiser, schedules and losses)
from keras_skeleton.models import describe_model, get_model, list_models, register_model  # noqa: F401
