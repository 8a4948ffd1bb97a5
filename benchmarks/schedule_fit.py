"""Fitting a training schedule into a time budget (``benchmarks.nwucla --time_budget_s``).

Pure functions, no flags: the benchmark driver times each run's first epochs from its
``state.json`` and asks ``shorter_schedule`` whether the flagfile's schedule still fits.
"""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence, Tuple


def flagfile_schedule(path: str, extra_flags: Sequence[str] = ()) -> Tuple[int, Optional[int]]:
    """``(epochs, first lr decay epoch or None)`` of a flagfile with ``extra_flags`` after it (later flags win)."""
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip().startswith("--")]
    values = {}
    for item in lines + list(extra_flags):
        key, _, value = item.lstrip("-").partition("=")
        values[key] = value
    decay = [int(float(e)) for e in values.get("lr_decay_epochs", "").split(",") if e]
    return int(values["epochs"]), (decay[0] if decay else None)


def shorter_schedule(epochs: int, decay: Optional[int], done: int, elapsed: float, epoch_seconds: float,
                     restart_seconds: float, budget: float, final_seconds: float, min_epochs: int = 0):
    """The schedule a run can still finish within ``budget`` seconds, or None when its own fits.

    Projects the end as ``elapsed + (epochs - done) * epoch_seconds + final_seconds``. When that
    is past ``budget``, returns ``(E, D)``: the most epochs ``E`` that fit after a restart (which
    costs ``restart_seconds`` and loses the epoch under way) with the x0.1 step at
    ``D = round(E * decay / epochs)``, the recipe's fraction (the references' 50 of 65). Because the
    schedules agree before the step, the resumed run is one run of ``E`` epochs. ``D`` must lie
    after ``done``, and ``E`` at least ``min_epochs``; a budget too small for that raises ``ValueError``.
    """
    if elapsed + (epochs - done) * epoch_seconds + final_seconds <= budget:
        return None
    fit = done + int((budget - elapsed - restart_seconds - final_seconds) // epoch_seconds)
    new_epochs = min(fit, epochs - 1)
    new_decay = int(round(new_epochs * decay / epochs)) if decay else None
    if new_epochs <= done or (new_decay is not None and new_decay <= done):
        raise ValueError(f"no shorter schedule fits: {done} epochs done after {elapsed:.0f} s, "
                         f"{epoch_seconds:.1f} s per epoch, budget {budget:.0f} s")
    if new_epochs < min_epochs:
        raise ValueError(f"only {new_epochs} of {epochs} epochs fit ({epoch_seconds:.1f} s per epoch, {done} done "
                         f"after {elapsed:.0f} s, budget {budget:.0f} s), fewer than the minimum {min_epochs}")
    return new_epochs, new_decay


def epoch_times(run_dir: str):
    """``(epochs done, median seconds per epoch)`` from a run's state.json.

    The first epoch compiles, so it is left out of the median: None until a second epoch exists.
    """
    path = os.path.join(run_dir, "state.json")
    try:
        with open(path) as f:
            history = json.load(f).get("history", [])
    except (OSError, json.JSONDecodeError):
        return 0, None
    seconds = sorted(h["epoch_seconds"] for h in history[1:] if "epoch_seconds" in h)
    return len(history), (seconds[len(seconds) // 2] if seconds else None)
