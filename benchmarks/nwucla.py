"""NW-UCLA benchmark: train the ``configs/nwucla_<model>_<stream>.flags`` runs, fuse streams, write the table.

    python -m benchmarks.nwucla --runs=ctrgcn:joint,ctrgcn:bone,ctrgcn:joint_motion,ctrgcn:bone_motion \\
        --out_dir=runs/nwucla --parallel=4 --results_md=docs/results_nwucla.md

Each run is ``python -m keras_skeleton.train --flagfile=configs/nwucla_<model>_<stream>.flags
--model_dir=<out_dir>/<model>_<stream> <--train_flags>``; up to ``--parallel`` runs share the
machine at once (one GPU is enough: the models are small). A rerun resumes unfinished runs
and skips finished ones. A model with all four streams also gets the 4-stream ensemble
(``keras_skeleton.evaluate``, CTR-GCN weights 0.6/0.6/0.4/0.4). Results go to
``<out_dir>/results.json`` and, as a Markdown table with the commands and the hardware,
to ``--results_md``. ``--table_only`` rebuilds the table from an existing results.json.

``--time_budget_s`` fits the runs into a fixed time (a lent accelerator, a session): each run is
timed over its first ``--probe_epochs`` epochs and, when its flagfile's schedule would end past the
budget, killed and resumed on the longest schedule that fits, with the x0.1 step at the recipe's
fraction of the epochs (50/65); results.json records the cut as ``schedule_cut``. A run for which
no schedule of at least ``--min_epochs`` epochs fits (a slow or busy machine) is stopped after its
probe epochs with a message instead of finishing a schedule too short to mean anything; results.json
records why under ``stopped``, and its checkpoints stay, so rerunning with a larger budget (or none)
resumes it.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time

from absl import app, flags

from benchmarks.schedule_fit import epoch_times, flagfile_schedule, shorter_schedule

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STREAMS = ("joint", "bone", "joint_motion", "bone_motion")

flags.DEFINE_list("runs", ["ctrgcn:joint"], "model:stream pairs (configs/nwucla_<model>_<stream>.flags).")
flags.DEFINE_string("out_dir", "runs/nwucla", "Folder for the run directories and results.json.")
flags.DEFINE_integer("parallel", 1, "Runs trained at the same time.")
flags.DEFINE_string("train_flags", "", "Extra flags for every training run (e.g. a shorter schedule).")
flags.DEFINE_string("raw_dir", "../shared/data/nw_ucla", "NW-UCLA raw folder (holding all_sqe/).")
flags.DEFINE_string("data_dir", "data/nwucla", "Prepared NW-UCLA folder (prepared from --raw_dir when absent).")
flags.DEFINE_string("results_md", None, "Write the Markdown results table here.")
flags.DEFINE_string("export_dir", None, "Copy each run's model (without optimiser state) and a tar of the "
                    "run records here.")
flags.DEFINE_bool("table_only", False, "Only rebuild the Markdown table from <out_dir>/results.json.")
flags.DEFINE_string("note", "", "A line added under the table (e.g. the schedule used and why).")
flags.DEFINE_integer("time_budget_s", 0, "When > 0: once a run has finished --probe_epochs epochs, a run whose "
                     "projected end lies more than this many seconds after the start is killed and resumed on the "
                     "longest shorter schedule that fits (its x0.1 step at the recipe's fraction of the epochs); "
                     "0 = every run on its flagfile's schedule, however long it takes.")
flags.DEFINE_integer("probe_epochs", 2, "Epochs timed before --time_budget_s decides (the first includes the "
                     "compilation, so at least 2).")
flags.DEFINE_integer("min_epochs", 15, "With --time_budget_s: a run whose fitted schedule would be shorter than "
                     "this is stopped instead (15 epochs put the x0.1 step at 12, 7 epochs after the 5-epoch "
                     "warm-up of the NW-UCLA recipes); 0 = any length.")
flags.DEFINE_integer("final_seconds", 40, "Seconds --time_budget_s reserves after the last epoch (final "
                     "evaluation, saving).")
flags.DEFINE_bool("ensembles", True, "Evaluate the 4-stream ensemble of each model that has all four streams.")
FLAGS = flags.FLAGS


def hardware() -> str:
    """GPU name (nvidia-smi) or the CPU model, with the core count."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    cpu = f"{cpu}, {os.cpu_count()} cores"
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        gpu = ""
    return f"{gpu.splitlines()[0]} + {cpu}" if gpu else cpu


def software() -> str:
    versions = []
    for module in ("keras", "jax", "tensorflow"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            continue
    return f"Python {platform.python_version()}, " + ", ".join(versions) + \
        f", KERAS_BACKEND={os.environ.get('KERAS_BACKEND', 'tensorflow')}"


def data_flags():
    return [f"--data_dir={FLAGS.data_dir}", f"--prepare_nwucla={FLAGS.raw_dir}"]


def flagfile_of(model: str, stream: str) -> str:
    """The run's flagfile, relative to the repository root."""
    return os.path.join("configs", f"nwucla_{model}_{stream}.flags")


def train_command(model: str, stream: str):
    flagfile = flagfile_of(model, stream)
    if not os.path.isfile(os.path.join(REPO_ROOT, flagfile)):
        raise SystemExit(f"error: {flagfile} does not exist")
    return [sys.executable, "-m", "keras_skeleton.train", f"--flagfile={flagfile}",
            f"--model_dir={os.path.join(FLAGS.out_dir, f'{model}_{stream}')}", "--verbose=2",
            *data_flags(), *shlex.split(FLAGS.train_flags)]


def child_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    # Several JAX processes share one GPU: allocate on demand instead of 75 % each.
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    return env


def prepare_data():
    """Prepares the data set once before parallel runs start (they would race on it)."""
    if os.path.isfile(os.path.join(REPO_ROOT, FLAGS.data_dir, "meta.json")):
        return
    command = [sys.executable, "-m", "data_tools.nwucla", f"--input_dir={FLAGS.raw_dir}",
               f"--out_dir={FLAGS.data_dir}"]
    subprocess.run(command, cwd=REPO_ROOT, env=child_env(), check=True)


def train_all(runs):
    """Runs the training commands, ``--parallel`` at a time; returns {name: record}.

    With ``--time_budget_s`` a run that would not finish in time is killed after its probe epochs
    and rerun with a shorter schedule (``shorter_schedule``); it resumes from its last checkpoint.
    """
    os.makedirs(FLAGS.out_dir, exist_ok=True)
    pending, active, records = list(runs), {}, {}
    budget_start = time.time()

    def launch(name, model, stream, command, start, cut=None):
        """Starts (or, with ``cut``, restarts on a shorter schedule) one training run."""
        extra = []
        if cut:
            extra = [f"--epochs={cut['epochs']}"] + (
                [f"--lr_decay_epochs={cut['lr_decay_epochs']}"] if cut["lr_decay_epochs"] else [])
        log = open(os.path.join(FLAGS.out_dir, f"{name}.log"), "a")
        process = subprocess.Popen(command + extra, cwd=REPO_ROOT, env=child_env(), stdout=log,
                                   stderr=subprocess.STDOUT)
        done_before, _ = epoch_times(os.path.join(FLAGS.out_dir, name))
        active[name] = dict(process=process, start=start, launched=time.time(), done_before=done_before, log=log,
                            model=model, stream=stream, command=command + extra, cut=cut,
                            decided=cut is not None or not FLAGS.time_budget_s)
        print(f"started {name}: {' '.join(command[1:] + extra)}", flush=True)

    while pending or active:
        while pending and len(active) < FLAGS.parallel:
            model, stream = pending.pop(0)
            name = f"{model}_{stream}"
            launch(name, model, stream, train_command(model, stream), time.time())
        time.sleep(1.0)
        for name, run in list(active.items()):
            if run["decided"] or run["process"].poll() is not None:
                continue
            cut = decide_schedule(name, run, budget_start)
            if cut:
                run["process"].kill()   # resumes from its last checkpoint, like any killed run
                run["process"].wait()
                if "stopped" in cut:
                    run["stopped"] = cut["stopped"]
                    continue            # recorded as finished below, with the reason
                run["log"].close()
                launch(name, run["model"], run["stream"], run["command"], run["start"], cut)
        for name, run in list(active.items()):
            process = run["process"]
            if process.poll() is None:
                continue
            run["log"].close()
            del active[name]
            records[name] = {"model": run["model"], "stream": run["stream"], "returncode": process.returncode,
                             "wall_seconds": round(time.time() - run["start"], 1),
                             "command": "python -m keras_skeleton.train " + " ".join(
                                 shlex.quote(c) for c in run["command"][3:])}
            if run["cut"]:
                records[name]["schedule_cut"] = run["cut"]
            if run.get("stopped"):
                records[name]["stopped"] = run["stopped"]
                print(f"stopped {name} after {records[name]['wall_seconds']} s: {run['stopped']}; its checkpoints "
                      f"stay in {os.path.join(FLAGS.out_dir, name)} (rerun with a larger --time_budget_s, or 0, "
                      f"to resume it)", flush=True)
                continue
            print(f"finished {name}: exit {process.returncode} after {records[name]['wall_seconds']} s", flush=True)
    return records


def decide_schedule(name, run, budget_start):
    """After the probe epochs: None to keep the run, the shorter schedule (a dict) to resume it on, or
    ``{"stopped": reason}`` when no schedule of at least ``--min_epochs`` epochs fits the budget."""
    done, seconds = epoch_times(os.path.join(FLAGS.out_dir, name))
    # Epochs of this process only: a rerun of the driver resumes runs that already hold some.
    if done - run["done_before"] < max(FLAGS.probe_epochs, 2) or seconds is None:
        return None
    run["decided"] = True
    epochs, decay = flagfile_schedule(os.path.join(REPO_ROOT, flagfile_of(run["model"], run["stream"])),
                                      shlex.split(FLAGS.train_flags))
    elapsed = time.time() - budget_start
    # A restart costs what this process spent before its steady epochs (start-up and compilation).
    restart = max(time.time() - run["launched"] - (done - run["done_before"]) * seconds, 0.0)
    try:
        cut = shorter_schedule(epochs, decay, done, elapsed, seconds, restart, FLAGS.time_budget_s,
                               FLAGS.final_seconds, FLAGS.min_epochs)
    except ValueError as e:
        print(f"{name}: stopping: {e}", flush=True)
        return {"stopped": str(e)}
    if cut is None:
        print(f"{name}: {epochs} epochs fit the budget ({seconds:.1f} s per epoch)", flush=True)
        return None
    new_epochs, new_decay = cut
    print(f"{name}: {epochs} epochs would end after the {FLAGS.time_budget_s} s budget ({seconds:.1f} s per "
          f"epoch, {done} done at {elapsed:.0f} s); resuming on {new_epochs} epochs, x0.1 after {new_decay}",
          flush=True)
    return dict(epochs=new_epochs, lr_decay_epochs=new_decay, official_epochs=epochs, decided_after_epoch=done,
                epoch_seconds=round(seconds, 1), budget_seconds=FLAGS.time_budget_s)


def collect(records):
    for name, record in records.items():
        path = os.path.join(FLAGS.out_dir, name, "metrics.json")
        if os.path.isfile(path):
            with open(path) as f:
                metrics = json.load(f)
            record.update({k: metrics.get(k) for k in (
                "top1", "top5", "best_val_top1", "epochs", "train_seconds_total", "train_only_seconds_total",
                "samples_per_second", "backend", "precision", "steps_per_epoch", "batch_size")})
    return records


def ensembles(records):
    """4-stream CTR-GCN-weighted ensembles of every model that has all four streams."""
    results = {}
    models = sorted({r["model"] for r in records.values()})
    for model in models:
        names = [f"{model}_{s}" for s in STREAMS]
        if not all(records.get(n, {}).get("top1") is not None for n in names):
            continue
        paths = [os.path.join(FLAGS.out_dir, n, "model.keras") for n in names]
        output = os.path.join(FLAGS.out_dir, f"{model}_ensemble.json")
        command = [sys.executable, "-m", "keras_skeleton.evaluate", f"--flagfile=configs/nwucla_{model}_joint.flags",
                   f"--model_path={','.join(paths)}", f"--output_json={output}", *data_flags()]
        start = time.time()
        done = subprocess.run(command, cwd=REPO_ROOT, env=child_env(), capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            continue
        with open(output) as f:
            fused = json.load(f)
        results[model] = {"top1": fused["top1"], "top5": fused["top5"], "streams": fused["streams"],
                          "wall_seconds": round(time.time() - start, 1),
                          "command": "python -m keras_skeleton.evaluate " + " ".join(
                              shlex.quote(c) for c in command[3:])}
        print(f"{model} 4-stream ensemble: top1 {fused['top1']:.2f}", flush=True)
    return results


def export(records):
    """Models without optimiser state (small, for committing) and a tar of the run records."""
    import tarfile

    import keras
    import keras_skeleton  # noqa: F401

    os.makedirs(FLAGS.export_dir, exist_ok=True)
    for name in records:
        path = os.path.join(FLAGS.out_dir, name, "model.keras")
        if os.path.isfile(path):
            keras.saving.load_model(path, compile=False).save(os.path.join(FLAGS.export_dir, f"nwucla_{name}.keras"))
    with tarfile.open(os.path.join(FLAGS.export_dir, "records.tar.gz"), "w:gz") as tar:
        for name in records:
            run_dir = os.path.join(FLAGS.out_dir, name)
            for item in ("metrics.json", "state.json", "config.json", "val_logits.npy", "logs"):
                if os.path.exists(os.path.join(run_dir, item)):
                    tar.add(os.path.join(run_dir, item), arcname=f"{name}/{item}")
            if os.path.exists(f"{run_dir}.log"):
                tar.add(f"{run_dir}.log", arcname=f"{name}.log")
        for extra in os.listdir(FLAGS.out_dir):
            if extra.endswith("_ensemble.json"):
                tar.add(os.path.join(FLAGS.out_dir, extra), arcname=extra)
    shutil.copy(os.path.join(FLAGS.out_dir, "results.json"), FLAGS.export_dir)


def fmt(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(results) -> str:
    lines = ["| model | stream | top-1 view 3 (%) | best epoch (%) | epochs | wall time | samples/s |",
             "|---|---|---|---|---|---|---|"]
    for name, r in sorted(results["runs"].items(), key=lambda kv: (kv[1]["model"], STREAMS.index(kv[1]["stream"]))):
        wall = r.get("wall_seconds")
        lines.append(f"| {r['model']} | {r['stream']} | {fmt(r.get('top1'))} | {fmt(r.get('best_val_top1'))} | "
                     f"{'stopped (budget)' if r.get('stopped') else r.get('epochs', '–')} | "
                     f"{fmt(wall / 60 if wall else None, 1)} min | "
                     f"{fmt(r.get('samples_per_second'), 0)} |")
    for model, e in sorted(results.get("ensembles", {}).items()):
        lines.append(f"| {model} | 4-stream ensemble (0.6/0.6/0.4/0.4) | {fmt(e['top1'])} | – | – | – | – |")
    text = ["# NW-UCLA results", "",
            "Cross-view protocol: train on views 1 and 2 (1,020 clips), test on view 3 (464 clips). "
            "**top-1 view 3** is the model after the last epoch; **best epoch** is the best per-epoch "
            "test accuracy (the official CTR-GCN code reports that one, i.e. it selects on the test set). "
            "Wall time covers the whole training command (compile, training, per-epoch evaluation, saving); "
            "samples/s counts training steps only.", "",
            *lines, "",
            f"Hardware: {results.get('hardware', '?')}. Software: {results.get('software', '?')}.",
            f"Runs trained {results.get('parallel', 1)} at a time on that machine.", ""]
    if results.get("note"):
        text += [results["note"], ""]
    text += ["## Commands", "", "```"]
    for name, r in sorted(results["runs"].items()):
        text.append(r["command"])
    for model, e in sorted(results.get("ensembles", {}).items()):
        text.append(e["command"])
    text += ["```", ""]
    return "\n".join(text)


def main(argv):
    del argv
    results_path = os.path.join(FLAGS.out_dir, "results.json")
    if FLAGS.table_only:
        with open(results_path) as f:
            results = json.load(f)
    else:
        runs = []
        for item in FLAGS.runs:
            model, _, stream = item.partition(":")
            if stream not in STREAMS:
                raise SystemExit(f"error: '{item}' is not model:stream with stream in {', '.join(STREAMS)}")
            runs.append((model, stream))
        prepare_data()
        start = time.time()
        records = collect(train_all(runs))
        results = {"runs": records, "ensembles": ensembles(records) if FLAGS.ensembles else {},
                   "hardware": hardware(),
                   "software": software(), "parallel": FLAGS.parallel, "note": FLAGS.note,
                   "total_seconds": round(time.time() - start, 1)}
        os.makedirs(FLAGS.out_dir, exist_ok=True)
        with open(results_path, "w") as f:
            json.dump(results, f, indent=2)
        if FLAGS.export_dir:
            export(records)
    if FLAGS.results_md:
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.results_md)), exist_ok=True)
        with open(FLAGS.results_md, "w") as f:
            f.write(markdown(results))
    print(json.dumps({name: r.get("top1") for name, r in results["runs"].items()}))


if __name__ == "__main__":
    app.run(main)
