"""benchmarks.schedule_fit: fitting the NW-UCLA schedule into a time budget (--time_budget_s)."""

import json

import pytest

from benchmarks.schedule_fit import epoch_times, flagfile_schedule, shorter_schedule


def test_flagfile_schedule_reads_the_recipe_and_later_flags_win():
    assert flagfile_schedule("configs/nwucla_ctrgcn_joint.flags") == (65, 50)
    assert flagfile_schedule("configs/nwucla_ctrgcn_joint.flags", ["--epochs=26", "--lr_decay_epochs=20"]) == (26, 20)
    assert flagfile_schedule("configs/ctrgcn_ntu60_xsub_joint.flags")[1] == 35


def test_a_schedule_that_fits_is_kept():
    # 65 epochs, 3 done after 40 s, 5 s each: ends at 40 + 62 * 5 + 30 = 380 s.
    assert shorter_schedule(65, 50, 3, 40.0, 5.0, 20.0, 380.0, 30.0) is None


def test_a_schedule_that_does_not_fit_is_cut_at_the_recipe_fraction():
    # 8 s per epoch: 40 + 62 * 8 + 30 = 566 s > 380 s; after a 20 s restart 290 s remain = 36 epochs.
    epochs, decay = shorter_schedule(65, 50, 3, 40.0, 8.0, 20.0, 380.0, 30.0)
    assert epochs == 3 + 36
    assert decay == round(39 * 50 / 65) == 30
    end = 40.0 + 20.0 + (epochs - 3) * 8.0 + 30.0
    assert end <= 380.0


def test_no_schedule_fits_when_the_step_would_already_be_past():
    with pytest.raises(ValueError, match="no shorter schedule fits"):
        shorter_schedule(65, 50, 3, 40.0, 8.0, 20.0, 100.0, 30.0)


def test_a_fitted_schedule_below_the_minimum_is_refused():
    # The slow-machine case: 2 probe epochs of 1,000 s each, 2,100 s elapsed, a 6,000 s budget.
    # 6,000 - 2,100 - 300 (restart) - 150 (final) = 3,450 s leave 3 more epochs: a 5-epoch schedule,
    # whose x0.1 step (at 4) would fall inside the 5-epoch warm-up.
    assert shorter_schedule(65, 50, 2, 2100.0, 1000.0, 300.0, 6000.0, 150.0) == (5, 4)
    with pytest.raises(ValueError, match="only 5 of 65 epochs fit .* fewer than the minimum 15"):
        shorter_schedule(65, 50, 2, 2100.0, 1000.0, 300.0, 6000.0, 150.0, min_epochs=15)
    # A normal machine (230 s per epoch) gets 24 epochs under the same budget and passes the minimum.
    assert shorter_schedule(65, 50, 2, 700.0, 230.0, 300.0, 6000.0, 150.0, min_epochs=15) == (23, 18)


def test_epoch_times_skip_the_compiling_first_epoch(tmp_path):
    assert epoch_times(str(tmp_path)) == (0, None)
    history = [{"epoch": 1, "epoch_seconds": 60.0}]
    (tmp_path / "state.json").write_text(json.dumps({"epoch": 1, "history": history}))
    assert epoch_times(str(tmp_path)) == (1, None)
    history += [{"epoch": 2, "epoch_seconds": 5.0}, {"epoch": 3, "epoch_seconds": 7.0},
                {"epoch": 4, "epoch_seconds": 6.0}]
    (tmp_path / "state.json").write_text(json.dumps({"epoch": 4, "history": history}))
    assert epoch_times(str(tmp_path)) == (4, 6.0)
