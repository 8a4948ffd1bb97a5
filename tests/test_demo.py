"""The desktop demo (apps.demo): the headless screenshot under Xvfb on the bundled recording and model,
TensorFlow-free imports, the window's error dialog, and the headless error exits.

The screenshot and window tests need an X server: they start their own Xvfb (``apt-get install xvfb``)
and are skipped, saying so, when none can be started.
"""

import json
import os
import select
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from apps import demo
from apps.font import text_mask
from apps.recordings import read_recording

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAVY_PACKAGES = ("tensorflow", "keras", "tf_keras", "tensorboard", "jax", "torch")
# Runs the app in a fresh interpreter, then reports which heavy packages it imported.
RUN_AND_LIST_MODULES = (
    "import json, sys\n"
    "import apps.demo\n"
    "rc = apps.demo.main(sys.argv[1:])\n"
    f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY_PACKAGES!r})\n"
    "print('MODULES ' + json.dumps({'heavy': heavy, 'litert': 'ai_edge_litert.interpreter' in sys.modules}))\n"
    "sys.exit(rc)\n")


def _env(display=None):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("DISPLAY", None)
    if display:
        env["DISPLAY"] = display
    return env


@pytest.fixture(scope="module")
def display():
    """A private Xvfb display (``-displayfd`` picks a free number); else $DISPLAY; else skip."""
    pytest.importorskip("tkinter", reason="this Python has no tkinter (apt-get install python3-tk)")
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if os.environ.get("DISPLAY"):
            yield os.environ["DISPLAY"]
            return
        pytest.skip("no X server for the Tk demo: Xvfb is not installed (apt-get install xvfb) and DISPLAY is unset")
    read_end, write_end = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write_end), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    number = b""
    while not number.endswith(b"\n") and select.select([read_end], [], [], 10.0)[0]:
        chunk = os.read(read_end, 16)
        if not chunk:
            break
        number += chunk
    os.close(read_end)
    if not number.strip().isdigit():
        server.kill()
        server.wait()
        pytest.skip(f"Xvfb did not start (exit code {server.poll()}); the demo needs an X server")
    yield f":{number.strip().decode()}"
    server.terminate()
    server.wait(timeout=10)


def read_png(path):
    """A strict reader for 8-bit RGB PNGs without filtering (what apps.raster writes): checks the signature,
    every chunk's CRC and the pixel data length; returns (H, W, 3) uint8."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind, body = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC in {kind}"
        chunks.setdefault(kind, []).append(body)
        position += 12 + length
    assert b"IEND" in chunks
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][0][:10])
    assert (depth, colour_type) == (8, 2)
    rows = np.frombuffer(zlib.decompress(b"".join(chunks[b"IDAT"])), np.uint8).reshape(height, 1 + 3 * width)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(height, width, 3)


def rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def has_colour(image, colour):
    return bool((image == np.array(rgb(colour), np.uint8)).all(axis=-1).any())


@pytest.fixture(scope="module")
def bundled():
    for path in (demo.DEFAULT_MODEL, demo.DEFAULT_RECORDING):
        assert os.path.isfile(path), f"{path} missing: run scripts/build_demo_assets.sh"
    return read_recording(demo.DEFAULT_RECORDING)


@pytest.fixture(scope="module")
def screenshot(display, bundled, tmp_path_factory):
    """The headless path on the bundled recording, two thirds in, in a fresh interpreter."""
    frame = 2 * bundled.num_frames // 3
    png = str(tmp_path_factory.mktemp("demo") / "shot.png")
    run = subprocess.run([sys.executable, "-c", RUN_AND_LIST_MODULES, f"--screenshot={png}", f"--frame={frame}",
                          "--window=48", "--stride=8"],
                         cwd=ROOT, env=_env(display), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    modules = json.loads(run.stdout.rsplit("MODULES ", 1)[1])
    report = json.load(open(png[:-4] + ".json"))
    return {"png": png, "report": report, "modules": modules, "frame": frame}


def test_screenshot_shows_skeleton_bars_timeline_and_label(screenshot, bundled):
    report = screenshot["report"]
    image = read_png(screenshot["png"])
    assert [image.shape[1], image.shape[0]] == report["image_size"] == list(demo.CANVAS_SIZE)
    assert report["frame"] == screenshot["frame"] and report["num_frames"] == bundled.num_frames
    assert len(np.unique(image.reshape(-1, 3), axis=0)) >= 8                 # not blank
    # The first person's bones in the skeleton view (left of the panel).
    assert has_colour(image[:, :image.shape[1] - demo.PANEL_WIDTH], demo.PERSON_COLOURS[0])
    # The top class's colour in its bar (panel) and in the timeline strip (bottom rows).
    top_colour = report["top1_colour"]
    assert top_colour != demo.ClassColours.UNASSIGNED
    assert has_colour(image[:, image.shape[1] - demo.PANEL_WIDTH:], top_colour)
    assert has_colour(image[image.shape[0] - demo.TIMELINE_HEIGHT:], top_colour)

    # The top-1 label is drawn, glyph for glyph, in the box the app reports.
    assert report["label_text"] == report["top1"]
    x0, y0, x1, y1 = report["label_box"]
    assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]
    ink = (image[y0:y1, x0:x1] == np.array(rgb(demo.INK), np.uint8)).all(axis=-1)
    assert ink.sum() > 3 * len(report["top1"])
    np.testing.assert_array_equal(ink, text_mask(report["top1"]))

    # Window bookkeeping: the last window ends on a stride boundary by frame K+1 and spans <= 48 frames.
    start, end = report["window"]
    assert end <= screenshot["frame"] + 1 and end % 8 == 0 and end - start == min(48, end)
    probabilities = [p for _, p in report["top5"]]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-6


def test_screenshot_label_matches_the_predictor_on_the_same_window(screenshot, bundled, tmp_path):
    start, end = screenshot["report"]["window"]
    clip = str(tmp_path / "window.npy")
    np.save(clip, bundled.joints[:, start:end])
    run = subprocess.run([sys.executable, "-m", "apps.predict", f"--input={clip}", "--top_k=5"],
                         cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    predicted = json.loads(run.stdout.strip().splitlines()[-1])
    assert predicted["top1"] == screenshot["report"]["top1"]
    np.testing.assert_allclose([p for _, p in predicted["top_k"]], [p for _, p in screenshot["report"]["top5"]],
                               atol=1e-6)


def test_app_never_imports_tensorflow_or_keras(screenshot):
    assert screenshot["modules"]["litert"], "the classifier did not run through LiteRT"
    assert screenshot["modules"]["heavy"] == []


def test_window_plays_and_shows_errors_in_a_dialog(display, bundled, tmp_path):
    """The interactive window: plays the bundled recording; a bad file opens an error dialog (recorded
    here instead of shown) and the app keeps running until it is closed."""
    bad = tmp_path / "broken.skeleton"
    bad.write_text("not a skeleton\n")
    code = ("import sys, tkinter.messagebox as box\n"
            "shown = []\n"
            "box.showerror = lambda title, message, **kw: shown.append(message)\n"
            "import apps.demo\n"
            "rc = apps.demo.main(sys.argv[1:])\n"
            "print('SHOWN', repr(shown))\n"
            "sys.exit(rc)\n")
    good = subprocess.run([sys.executable, "-c", code, "--play", "--speed=4", "--quit_after=1.5"], cwd=ROOT,
                          env=_env(display), capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "Traceback" not in good.stderr, good.stderr
    assert good.stdout.strip().endswith("SHOWN []")
    broken = subprocess.run([sys.executable, "-c", code, f"--input={bad}", "--quit_after=1"], cwd=ROOT,
                            env=_env(display), capture_output=True, text=True, timeout=60)
    assert broken.returncode == 0 and "Traceback" not in broken.stderr, broken.stderr
    assert "broken.skeleton" in broken.stdout.split("SHOWN", 1)[1]


def _headless_error(args, capsys):
    code = demo.main(args + ["--screenshot=unused.png"])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    return code, lines


def test_headless_errors_exit_2_with_one_line(tmp_path, capsys, bundled, monkeypatch):
    # Errors are found before the display opens, so these run without an X server.
    monkeypatch.delenv("DISPLAY", raising=False)
    garbage = tmp_path / "garbage.skeleton"
    garbage.write_text("12\nthis is not\na skeleton file\n")
    coco = tmp_path / "coco_clip.npy"
    np.save(coco, np.random.default_rng(0).normal(size=(1, 40, 17, 3)).astype(np.float32))
    not_a_model = tmp_path / "model.tflite"
    not_a_model.write_bytes(b"\x00" * 64)
    cases = [([f"--input={garbage}"], "garbage.skeleton"),
             ([f"--input={coco}"], "V=17"),
             ([f"--input={tmp_path / 'missing.npy'}"], "not found"),
             ([f"--model={not_a_model}"], "not a loadable TFLite model"),
             ([f"--frame={bundled.num_frames}"], "outside the recording's frames")]
    for args, expected in cases:
        code, lines = _headless_error(args, capsys)
        assert code == 2, args
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert not os.path.exists("unused.png")
