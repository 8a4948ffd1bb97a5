"""benchmarks.fusion_weights: the oracle, the split-half estimate and the tie-break on scores built to know the answer."""

import numpy as np

from benchmarks.fusion_weights import analyse, pick_weights, weight_grid


def _scores(num_clips=40, num_classes=5, seed=0):
    """Stream 0 right on every clip; stream 1 puts a larger score on a wrong class of every clip."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, num_clips)
    right = np.zeros((num_clips, num_classes))
    right[np.arange(num_clips), labels] = 1.0
    wrong = np.zeros((num_clips, num_classes))
    wrong[np.arange(num_clips), (labels + 1) % num_classes] = 2.0
    return np.stack([right, wrong]), labels


def test_oracle_and_split_half_find_the_stream_that_is_right():
    scores, labels = _scores()
    result = analyse(scores, labels, [0.5, 0.5], step=0.5, splits=20, seed=0)
    assert result["streams_top1"] == [100.0, 0.0]
    assert result["default"]["top1"] == 0.0  # equal weights: the wrong stream's 2.0 wins
    assert result["oracle"]["top1"] == 100.0
    assert result["oracle"]["weights"][1] < result["oracle"]["weights"][0] / 2
    assert result["split_half"]["tuned_median_top1"] == 100.0
    assert result["split_half"]["default_median_top1"] == 0.0
    assert result["split_half"]["share_of_splits_tuned_better"] == 1.0


def test_grid_leaves_out_all_zero_and_ties_go_to_the_reference():
    grid = weight_grid(2, 0.5)
    assert len(grid) == 8 and not (grid.sum(axis=1) == 0).any()
    correct = np.ones((len(grid), 3), dtype=bool)  # every weighting ties
    chosen = pick_weights(correct, grid, np.array([0.6, 0.6]))
    assert grid[chosen][0] == grid[chosen][1]  # the equal weights, as the reference's 1:1
