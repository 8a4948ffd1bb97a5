"""Import an official checkpoint into a Keras model file.

    python -m keras_skeleton.convert --model=ctrgcn --checkpoint=model.pt --num_classes=60 --output=ctrgcn.keras

Reads PyTorch (``.pt``, ``.pth``, ``.pth.tar``) and PaddleVideo (``.pdparams``) files without either
framework, maps every tensor onto the registered Keras model and writes ``--output`` atomically. Missing,
unexpected or mis-shaped keys stop the conversion with one message that names them.
"""

from __future__ import annotations

import sys

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS


def define_flags():
    """Defined only when run as a command, so importing this module never clashes with other flags."""
    flags.DEFINE_string("model", None, "Registered model name (keras_skeleton.list_models()).")
    flags.DEFINE_string("checkpoint", None, "Official checkpoint file.")
    flags.DEFINE_integer("num_classes", 0, "Classes (0 = infer from the classifier weight).")
    flags.DEFINE_string("layout", None, "Skeleton layout (default: the model's).")
    flags.DEFINE_integer("num_frames", None, "Fix the model's T (default: free where the model allows).")
    flags.DEFINE_string("output", None, "Output .keras file.")


def infer_num_classes(tensors) -> int:
    """The classifier width read from the usual classifier keys; 0 when none is found.

    PyTorch Linear / Conv weights are ``(classes, ...)``; a Paddle ``head.fc.weight`` is ``(in, classes)``.
    """
    for key, axis in (("fc.weight", 0), ("head.fc.weight", 1), ("cls_head.fc_cls.weight", 0),
                      ("fcn.weight", 0), ("classifier.fc.weight", 0)):
        if key in tensors and tensors[key].ndim >= 2:
            return int(tensors[key].shape[axis])
    return 0


def convert(model_name: str, checkpoint: str, output: str, num_classes: int = 0, layout=None, num_frames=None):
    """Builds ``model_name``, imports ``checkpoint`` into it and saves ``output`` (skipped when empty).

    ``num_classes=0`` reads the width from the classifier weight; ``layout`` / ``num_frames`` are passed to
    the builder only when given. Returns ``(model, state, info)``: the Keras model, the ``StateDict`` (which
    keys were used) and the reader's ``info``. Raises ``CheckpointError`` naming the file or the keys.
    """
    import keras_skeleton
    from data_tools.prepared import atomic_path
    from keras_skeleton.checkpoint_io import load_state_dict
    from keras_skeleton.importers import CheckpointError, StateDict, get_importer

    if model_name not in keras_skeleton.list_models():
        raise CheckpointError(f"unknown model '{model_name}'; models: {', '.join(keras_skeleton.list_models())}")
    importer = get_importer(model_name)
    tensors, info = load_state_dict(checkpoint)
    num_classes = num_classes or infer_num_classes(tensors)
    if not num_classes:
        raise CheckpointError(f"cannot infer the number of classes from '{checkpoint}'; pass --num_classes")
    kwargs = {}
    if layout:
        kwargs["layout"] = layout
    if num_frames:
        kwargs["num_frames"] = num_frames
    model = keras_skeleton.get_model(model_name, num_classes=num_classes, **kwargs)
    state = StateDict(tensors, source=checkpoint, ignore=("num_batches_tracked",))
    importer(model, state)
    state.raise_if_problems()
    if output:
        with atomic_path(output) as tmp:
            model.save(tmp)
    return model, state, info


def main(argv):
    del argv
    from keras_skeleton.importers import CheckpointError

    for name in ("model", "checkpoint", "output"):
        if not getattr(FLAGS, name):
            print(f"error: --{name} is required", file=sys.stderr)
            sys.exit(2)
    try:
        model, state, info = convert(FLAGS.model, FLAGS.checkpoint, FLAGS.output, FLAGS.num_classes, FLAGS.layout,
                                     FLAGS.num_frames)
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except OSError as e:  # e.g. the output folder cannot be written
        print(f"error: cannot write '{FLAGS.output}': {e}", file=sys.stderr)
        sys.exit(1)
    parameters = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    skipped = len(state.tensors) - len(state.used)
    print(f"converted {FLAGS.checkpoint} ({info['format']}): {len(state.used)} tensors used"
          + (f", {skipped} ignored (num_batches_tracked)" if skipped else "")
          + f" -> {FLAGS.output}: {FLAGS.model}, {model.output_shape[-1]} classes, {parameters:,} trainable parameters")


if __name__ == "__main__":
    define_flags()
    app.run(main)
