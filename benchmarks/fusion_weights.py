"""How much could tuned fusion weights add to a multi-stream ensemble? (a diagnostic, not a result)

    python -m keras_skeleton.evaluate --model_path=J,B,JM,BM --flagfile=... --scores_path=scores.npz
    python -m benchmarks.fusion_weights --scores_path=scores.npz [--grid_step=0.1] [--splits=500]

The fixed weights of the references (CTR-GCN 0.6/0.6/0.4/0.4, PYSKL 2:2:1:1) are the honest figure.
Papers and forks sometimes tune the weights instead, and the only labelled clips outside the training
views are the test view, so tuning them means selecting on the test set. This script measures both
sides of that from the per-clip scores that ``keras_skeleton.evaluate --scores_path`` writes:

* ``default``: top-1 with the weights stored in the file (the ones evaluate used);
* ``oracle``: the best top-1 over a weight grid (each weight in ``0, step, ..., 1``), chosen on all of
  the clips: an upper bound that is selected on the test set, never a result;
* ``split_half``: weights chosen on a random half of the clips and scored on the other half, against
  the file's weights on that same half, over ``--splits`` random halves (medians): what tuning would
  really buy on clips it did not see.

Ties on a half are broken towards the weights closest to the file's (after scaling both to sum 1).
The last line printed is JSON.
"""

from __future__ import annotations

import itertools
import json
import statistics

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags():
    """The script's flags, defined only when it runs: tests import ``analyse`` beside modules that own
    flags of the same names (``--seed``, ``--scores_path``)."""
    flags.DEFINE_string("scores_path", None, "The .npz of keras_skeleton.evaluate --scores_path.")
    flags.DEFINE_float("grid_step", 0.1, "Spacing of the weight grid in [0, 1].")
    flags.DEFINE_integer("splits", 500, "Random halves for the split-half estimate.")
    flags.DEFINE_integer("seed", 0, "Seed of the random halves.")


def weight_grid(num_streams: int, step: float):
    """``(G, S)`` array of every weight vector on the grid, the all-zero one left out."""
    import numpy as np

    values = np.round(np.arange(0.0, 1.0 + step / 2, step), 6)
    grid = np.array(list(itertools.product(values, repeat=num_streams)), dtype=np.float64)
    return grid[grid.sum(axis=1) > 0]


def correct_per_weighting(scores, labels, grid):
    """``(G, N)`` bool: clip n is top-1 correct under weight vector g. ``scores`` is ``(S, N, K)``."""
    import numpy as np

    fused = np.einsum("gs,snk->gnk", grid, scores.astype(np.float64))
    return fused.argmax(axis=-1) == labels[None, :]


def pick_weights(correct, grid, reference):
    """Index of the grid row with the most correct clips; ties go to the row nearest ``reference``."""
    import numpy as np

    counts = correct.sum(axis=1)
    best = np.flatnonzero(counts == counts.max())
    scaled = grid[best] / grid[best].sum(axis=1, keepdims=True)
    distance = np.abs(scaled - reference / reference.sum()).sum(axis=1)
    return int(best[np.argmin(distance)])


def analyse(scores, labels, default_weights, step: float, splits: int, seed: int) -> dict:
    """Default, oracle and split-half top-1 (percent) of the fused scores; see the module docstring."""
    import numpy as np

    scores = np.asarray(scores)
    labels = np.asarray(labels)
    default_weights = np.asarray(default_weights, dtype=np.float64)
    num_clips = len(labels)
    grid = weight_grid(scores.shape[0], step)
    correct = correct_per_weighting(scores, labels, grid)
    default_correct = correct_per_weighting(scores, labels, default_weights[None, :])[0]
    oracle = pick_weights(correct, grid, default_weights)

    rng = np.random.default_rng(seed)
    tuned_top1, default_top1 = [], []
    for _ in range(splits):
        order = rng.permutation(num_clips)
        tune, held_out = order[: num_clips // 2], order[num_clips // 2:]
        chosen = pick_weights(correct[:, tune], grid, default_weights)
        tuned_top1.append(100.0 * correct[chosen, held_out].mean())
        default_top1.append(100.0 * default_correct[held_out].mean())
    gains = [t - d for t, d in zip(tuned_top1, default_top1)]
    return {
        "num_clips": num_clips,
        "num_weightings": len(grid),
        "streams_top1": [round(100.0 * float((s.argmax(-1) == labels).mean()), 2) for s in scores],
        "default": {"weights": default_weights.tolist(), "top1": round(100.0 * float(default_correct.mean()), 2)},
        "oracle": {"weights": grid[oracle].tolist(), "top1": round(100.0 * float(correct[oracle].mean()), 2),
                   "weightings_at_or_above_default": int((correct.sum(1) >= default_correct.sum()).sum())},
        "split_half": {"splits": splits, "seed": seed,
                       "tuned_median_top1": round(statistics.median(tuned_top1), 2),
                       "default_median_top1": round(statistics.median(default_top1), 2),
                       "median_gain": round(statistics.median(gains), 2),
                       "mean_gain": round(statistics.fmean(gains), 2),
                       "share_of_splits_tuned_better": round(sum(g > 0 for g in gains) / splits, 3)},
    }


def main(argv):
    del argv
    import numpy as np

    if not FLAGS.scores_path:
        raise app.UsageError("--scores_path is required (the .npz of keras_skeleton.evaluate --scores_path)")
    try:
        data = np.load(FLAGS.scores_path)
        scores, labels, weights = data["scores"], data["labels"], data["weights"]
        modalities = [str(m) for m in data["modalities"]]
    except (OSError, KeyError, ValueError) as e:
        raise app.UsageError(f"cannot read scores file '{FLAGS.scores_path}': {e}") from None
    if not 0 < FLAGS.grid_step <= 1:
        raise app.UsageError(f"--grid_step must lie in (0, 1], got {FLAGS.grid_step}")
    if FLAGS.splits < 1:
        raise app.UsageError(f"--splits must be at least 1, got {FLAGS.splits}")
    result = analyse(scores, labels, weights, FLAGS.grid_step, FLAGS.splits, FLAGS.seed)
    result.update(benchmark="fusion_weights", scores_path=FLAGS.scores_path, modalities=modalities,
                  grid_step=FLAGS.grid_step)
    print(f"streams {', '.join(f'{m} {t:.2f}' for m, t in zip(modalities, result['streams_top1']))}")
    print(f"default weights {result['default']['weights']}: top1 {result['default']['top1']:.2f}")
    print(f"oracle (selected on these very clips, an upper bound): {result['oracle']['weights']} "
          f"top1 {result['oracle']['top1']:.2f}")
    half = result["split_half"]
    print(f"split-half over {half['splits']} halves: tuned {half['tuned_median_top1']:.2f} vs default "
          f"{half['default_median_top1']:.2f} on the held-out half (gain: median {half['median_gain']:+.2f}, "
          f"mean {half['mean_gain']:+.2f}; "
          f"tuned better in {100 * half['share_of_splits_tuned_better']:.0f} % of splits)")
    print(json.dumps(result))


if __name__ == "__main__":
    define_flags()
    app.run(main)
