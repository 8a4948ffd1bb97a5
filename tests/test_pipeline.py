import numpy as np
import pytest

from data_tools.prepared import PreparedDataError, PreparedSplit
from keras_skeleton.data.pipeline import FeederConfig, SkeletonFeeder, make_dataset


def test_feeder_batches_are_reproducible_and_epoch_dependent(tiny_prepared):
    split = PreparedSplit(tiny_prepared, "train")
    config = FeederConfig(window=16, p_interval=[0.5, 1.0], rotation=0.3, min_crop=16)
    feeder = SkeletonFeeder(split, config, batch_size=4, shuffle=True, seed=3, drop_remainder=True)
    first = [x for x, _ in feeder]
    again = [x for x, _ in feeder]
    assert len(first) == 4 and first[0].shape == (4, 2, 16, 25, 3)
    np.testing.assert_array_equal(first[0], again[0])
    feeder.epoch = 1
    assert not np.array_equal(first[0], next(iter(feeder))[0])


def test_eval_feeder_keeps_every_sample_in_order(tiny_prepared):
    split = PreparedSplit(tiny_prepared, "val")
    feeder = SkeletonFeeder(split, FeederConfig(window=16, min_crop=16), batch_size=3, shuffle=False)
    labels = np.concatenate([y for _, y in feeder])
    np.testing.assert_array_equal(labels, split.labels)


def test_tf_dataset_has_known_length(tiny_prepared):
    split = PreparedSplit(tiny_prepared, "train")
    feeder = SkeletonFeeder(split, FeederConfig(window=16, min_crop=16), batch_size=4, shuffle=True)
    dataset = make_dataset(feeder)
    assert int(dataset.cardinality()) == 4
    x, y = next(iter(dataset))
    assert x.shape == (4, 2, 16, 25, 3) and y.dtype.name == "int32"


def test_data_is_memory_mapped(tiny_prepared):
    assert isinstance(PreparedSplit(tiny_prepared, "train").data, np.memmap)


def test_missing_split_names_the_file(tmp_path, tiny_prepared):
    with pytest.raises(PreparedDataError, match="test_data.npy"):
        PreparedSplit(tiny_prepared, "test")
    with pytest.raises(PreparedDataError, match="does not exist"):
        PreparedSplit(str(tmp_path / "nowhere"), "train")


def test_layout_mismatch_is_reported(tiny_prepared):
    with pytest.raises(PreparedDataError, match="V=25, C=3 but the layout 'coco17' needs V=17"):
        PreparedSplit(tiny_prepared, "train").check_layout(17, 3, "coco17")
