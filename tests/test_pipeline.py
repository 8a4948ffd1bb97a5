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


def test_repeat_lists_every_sample_that_many_times(tiny_prepared):
    split = PreparedSplit(tiny_prepared, "train")
    feeder = SkeletonFeeder(split, FeederConfig(window=16, min_crop=16), batch_size=4, shuffle=True, seed=0,
                            drop_remainder=True, repeat=3)
    assert len(feeder) == 16 * 3 // 4
    counts = np.bincount(feeder.epoch_order(0), minlength=16)
    assert (counts == 3).all()


def test_stream_is_the_epochs_back_to_back(tiny_prepared):
    split = PreparedSplit(tiny_prepared, "train")
    config = FeederConfig(window=16, p_interval=[0.5, 1.0], rotation=0.3, min_crop=16)
    feeder = SkeletonFeeder(split, config, batch_size=4, shuffle=True, seed=3, drop_remainder=True)
    streamed = list(feeder.stream(2, steps_per_epoch=3, num_epochs=2))
    expected = [feeder.batch_at(e, b) for e in (2, 3) for b in range(3)]
    assert len(streamed) == 6
    for (x, y), (ex, ey) in zip(streamed, expected):
        np.testing.assert_array_equal(x, ex)
        np.testing.assert_array_equal(y, ey)


def test_worker_shards_make_up_the_global_batch(tiny_prepared):
    split = PreparedSplit(tiny_prepared, "train")
    config = FeederConfig(window=16, min_crop=16)          # deterministic transform
    whole = SkeletonFeeder(split, config, batch_size=8, shuffle=True, seed=1, drop_remainder=True)
    shards = [SkeletonFeeder(split, config, batch_size=8, shuffle=True, seed=1, drop_remainder=True,
                             num_shards=2, shard_index=i) for i in range(2)]
    x, y = whole.batch_at(0, 1)
    parts = [shard.batch_at(0, 1) for shard in shards]
    assert len(shards[0]) == len(whole) and parts[0][0].shape[0] == 4
    np.testing.assert_array_equal(np.sort(np.concatenate([p[1] for p in parts])), np.sort(y))
    np.testing.assert_array_equal(parts[1][0], x[1::2])


def test_one_hot_mixup_targets_and_test_clips(tiny_prepared):
    split = PreparedSplit(tiny_prepared, "train")
    config = FeederConfig(window=16, p_interval=[0.5, 1.0], min_crop=16, mixup_alpha=0.2, num_classes=2)
    x, y = SkeletonFeeder(split, config, batch_size=4, shuffle=True).batch_at(0, 0)
    assert y.shape == (4, 2) and y.dtype == np.float32
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    clips = FeederConfig(window=8, sampling="uniform", training=False, num_clips=3)
    x, y = SkeletonFeeder(split, clips, batch_size=4, shuffle=False).batch_at(0, 0)
    assert x.shape == (12, 2, 8, 25, 3) and y.shape == (4,)


def test_first_frames_sampling_keeps_stored_frames(tiny_prepared):
    split = PreparedSplit(tiny_prepared, "val")
    x, _ = SkeletonFeeder(split, FeederConfig(window=50, sampling="first"), 2, shuffle=False).batch_at(0, 0)
    np.testing.assert_array_equal(x[:, :, :40], split.data[:2])
    assert (x[:, :, 40:] == 0).all()


def test_bad_feeder_settings_are_rejected():
    with pytest.raises(ValueError, match="sampling"):
        FeederConfig(sampling="random")
    with pytest.raises(ValueError, match="num_classes"):
        FeederConfig(mixup_alpha=0.2)
