"""Desktop demo: plays a skeleton recording in 3-D and classifies it live with a TFLite model.

    python -m apps.demo [--model=X.tflite] [--labels=FILE] [--input=FILE_OR_DIR] [--window=64] [--stride=8]
    python -m apps.demo --input=REC --screenshot=OUT.png [--frame=K]     # headless: OUT.png + OUT.json

Recordings are NTU ``.skeleton``, ``.npy`` clips or prepared splits, NW-UCLA ``.json`` and PYSKL ``.pkl``
(``apps.recordings``); a folder opens as a playlist. The model runs through the LiteRT interpreter of
``apps.predict`` with its preprocessing, the way a live feed would be handled: every ``--stride`` frames,
the last ``--window`` frames seen so far are resized to the model's T and classified. The window shows
the skeletons (drag to rotate, double-click to reset), the top-5 classes, the top class over time and
the model's latency. Needs numpy, tkinter and ai-edge-litert only; TensorFlow is never imported.

Without arguments it opens the bundled recording and model (``apps/assets``, built by
``scripts/build_demo_assets.sh``). ``--screenshot`` renders frame K (default: the last) after
classifying the frames up to K, writes the PNG from the Canvas's items (``apps.raster``) and a JSON
with the prediction and the pixel box of the drawn top-1 label, then exits. Errors open a dialog and
the app keeps running; headless, they print one ``error: ...`` line and exit with code 2.
"""

from __future__ import annotations

import argparse
import colorsys
import contextlib
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from apps.font import GLYPH_WIDTH
from apps.predict import DEFAULT_MODEL, Classifier
from apps.recordings import Recording, RecordingError, list_recordings, read_recording
from data_tools.layouts import get_layout, list_layouts

ASSETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
# A held-out (X-Sub test performer) synthetic recording, copied by scripts/build_demo_assets.sh.
DEFAULT_RECORDING = os.path.join(ASSETS_DIR, "synthetic_hand_waving.skeleton")   # made by data_tools.synthetic

TITLE = "keras-skeleton demo"
CANVAS_SIZE = (980, 620)
PANEL_WIDTH = 380
TIMELINE_HEIGHT = 96
DEFAULT_YAW, DEFAULT_PITCH = 0.45, 0.25                      # radians: a 3/4 view shows the depth
PERSON_COLOURS = ("#1d3f8f", "#c0182c", "#1b7a3a", "#9a4a12", "#5b2a86")        # darker than the class colours
BACKGROUND, INK, MUTED, GRID = "#ffffff", "#202020", "#707070", "#d8d8d8"
UNSEEN, NO_PREDICTION = "#f0f0f0", "#c8c8c8"
SMALL_FONT = "DemoSmall"                                      # a named Tk font, see _make_font
TOP1_TAG = "top1_label"
SPEEDS = ("0.25", "0.5", "1", "2", "4")


class DemoError(RuntimeError):
    """A problem to show the user (dialog) or, headless, to print as ``error: ...`` with exit code 2."""


class ClassColours:
    """One colour per class, handed out in the order classes first win a window: the classes on one
    timeline get the clearly distinct Tableau colours first (a fixed colour per class index would make
    two of 60 classes look alike); past those, hues a golden angle apart."""

    PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f",
               "#ff9da7", "#17becf", "#bcbd22", "#8c564b")
    UNASSIGNED = "#a9b1bd"                                    # classes that never won a window

    def __init__(self):
        self.assigned: Dict[int, str] = {}

    def assign(self, index: int) -> str:
        if index not in self.assigned:
            n = len(self.assigned)
            if n < len(self.PALETTE):
                self.assigned[index] = self.PALETTE[n]
            else:
                red, green, blue = colorsys.hsv_to_rgb((n * 0.618034) % 1.0, 0.6, 0.85)
                self.assigned[index] = "#%02x%02x%02x" % (int(red * 255), int(green * 255), int(blue * 255))
        return self.assigned[index]

    def get(self, index: int) -> str:
        return self.assigned.get(index, self.UNASSIGNED)


@contextlib.contextmanager
def _native_info_lines_dropped():
    """LiteRT's C++ logger writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." to file
    descriptor 2 with no switch to silence it; capture fd 2 meanwhile and pass on every other line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):       # no usable fd 2 (e.g. a windowed launcher)
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not line.startswith("INFO: ")))


def load_classifier(model_path: str, labels_path: Optional[str] = None, threads: int = 1) -> Classifier:
    try:
        with _native_info_lines_dropped():
            return Classifier(model_path, labels_path, threads)
    except RecordingError as e:
        raise DemoError(str(e)) from None


def playlist_for(path: str) -> List[str]:
    """A file -> [file]; a folder -> its recordings, sorted."""
    if os.path.isdir(path):
        paths = list_recordings(path)
        if not paths:
            raise DemoError(f"{path}: no recordings (.skeleton, .npy, .json, .pkl) in this folder")
        return paths
    if not os.path.isfile(path):
        raise DemoError(f"{path}: file not found")
    return [path]


def load_recording(path: str, index: int = 0) -> Recording:
    try:
        recording = read_recording(path, index)
    except RecordingError as e:
        raise DemoError(str(e)) from None
    if recording.num_frames < 1:
        raise DemoError(f"{path}: no frame with a skeleton")
    return recording


def layout_for(recording: Recording, classifier: Optional[Classifier]):
    """The skeleton layout to draw bones with: the recording's, else the model's, else the only layout with
    this many joints; None when nothing fits (joints are then drawn without bones)."""
    joints = recording.joints.shape[2]
    for name in (recording.layout, classifier.info.get("layout") if classifier else None):
        if name and name in list_layouts() and get_layout(name).num_joints == joints:
            return get_layout(name)
    matches = [get_layout(name) for name in list_layouts() if get_layout(name).num_joints == joints]
    return matches[0] if len(matches) == 1 else None


@dataclasses.dataclass
class WindowResult:
    start: int                    # first frame of the window
    end: int                      # one past its last frame: the number of frames seen when it ran
    probabilities: np.ndarray     # (num_classes,)
    latency_ms: float

    @property
    def top_class(self) -> int:
        return int(np.argmax(self.probabilities))


class LiveClassifier:
    """Classifies a recording as a live feed: whenever ``stride`` more frames have arrived (and at least
    ``min_frames``), the last ``window`` frames seen are classified with ``Classifier.predict`` (the
    predictor's preprocessing: 95 % centre crop, resized to the model's T). The end of the recording
    flushes one last window, as the end of a stream would."""

    def __init__(self, classifier: Classifier, recording: Recording, window: int, stride: int, min_frames: int = 0):
        try:
            classifier.check(recording.joints, recording.name or "recording")
        except RecordingError as e:
            raise DemoError(str(e)) from None
        if recording.layout and classifier.info.get("layout") and recording.layout != classifier.info["layout"]:
            raise DemoError(f"{recording.name}: a {recording.layout} recording, but the model was trained on "
                            f"{classifier.info['layout']}")
        self.classifier, self.recording = classifier, recording
        self.window, self.stride = window, stride
        self.min_frames = min(min_frames or classifier.frames, window)
        total = recording.num_frames
        self.ends = [end for end in range(stride, total + 1, stride) if end >= self.min_frames]
        if not self.ends or self.ends[-1] != total:
            self.ends.append(total)
        self.results: Dict[int, WindowResult] = {}

    def bounds(self, end: int) -> Tuple[int, int]:
        return max(0, end - self.window), end

    def classify(self, end: int) -> WindowResult:
        if end not in self.results:
            start, end = self.bounds(end)
            try:
                probabilities = self.classifier.predict(self.recording.joints[:, start:end], end - start)
            except (RuntimeError, ValueError) as e:
                raise DemoError(f"{self.recording.name}: the model failed on frames {start}-{end - 1} ({e})") from None
            self.results[end] = WindowResult(start, end, probabilities, self.classifier.last_latency_ms)
        return self.results[end]

    def seen(self, frame: int) -> List[WindowResult]:
        """Results of every window that had run when frame ``frame`` (0-based) was shown, oldest first."""
        return [self.classify(end) for end in self.ends if end <= frame + 1]

    def latest(self, frame: int) -> Optional[WindowResult]:
        results = self.seen(frame)
        return results[-1] if results else None


class SkeletonView:
    """Projects a recording onto a canvas rectangle with one centre and scale for the whole recording (the
    figure does not jump between frames). 3-D layouts rotate by yaw/pitch (y up); 2-D ones draw flat
    (image coordinates, y down)."""

    def __init__(self, recording: Recording, layout):
        joints = recording.joints[:, :recording.num_frames]
        self.flat = joints.shape[-1] < 3 or bool(layout and "2-D" in layout.description)
        self.dims = 2 if self.flat else 3
        self.points = joints[..., :self.dims].astype(np.float64)                   # (M, T, V, dims)
        self.present = (self.points != 0).any(axis=-1)                               # (M, T, V)
        valid = self.points[self.present] if self.present.any() else np.zeros((1, self.dims))
        low, high = valid.min(axis=0), valid.max(axis=0)
        self.centre = (low + high) / 2
        self.half_extent = np.maximum((high - low) / 2, 1e-6)
        self.radius = max(float(np.linalg.norm(valid - self.centre, axis=1).max()), 1e-6)
        self.floor = float(low[1]) if not self.flat else None
        if not self.flat:
            # A floor square a little wider than the persons' footprint; the view fits it too.
            self.grid_half = float(max(self.half_extent[0], self.half_extent[2])) + 0.2 * self.radius
            corner = np.array([self.grid_half, self.floor - self.centre[1], self.grid_half])
            self.radius = max(self.radius, float(np.linalg.norm(corner)))
        self.edges = layout.draw_edges() if layout else []

    def _rotate(self, points: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
        p = points - self.centre
        x = p[..., 0] * math.cos(yaw) + p[..., 2] * math.sin(yaw)
        z = -p[..., 0] * math.sin(yaw) + p[..., 2] * math.cos(yaw)
        y = p[..., 1] * math.cos(pitch) - z * math.sin(pitch)
        depth = p[..., 1] * math.sin(pitch) + z * math.cos(pitch)
        return np.stack([x, y, depth], axis=-1)

    def project(self, points: np.ndarray, box: Sequence[float], yaw: float, pitch: float) -> np.ndarray:
        """``points`` (..., dims) -> (..., 3): screen x, screen y, depth (larger = farther)."""
        x0, y0, x1, y1 = box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if self.flat:
            scale = 0.9 * min((x1 - x0) / (2 * self.half_extent[0]), (y1 - y0) / (2 * self.half_extent[1]))
            p = points - self.centre
            return np.stack([cx + scale * p[..., 0], cy + scale * p[..., 1], np.zeros(p.shape[:-1])], axis=-1)
        scale = 0.92 * min(x1 - x0, y1 - y0) / (2 * self.radius)
        r = self._rotate(points, yaw, pitch)
        return np.stack([cx + scale * r[..., 0], cy - scale * r[..., 1], r[..., 2]], axis=-1)

    def floor_grid(self, box, yaw: float, pitch: float, lines: int = 7) -> List[np.ndarray]:
        """Line segments (2, 3) of a square grid on the floor (the lowest joint height), 3-D only."""
        if self.flat:
            return []
        r = self.grid_half
        segments = []
        for offset in np.linspace(-r, r, lines):
            for a, b in (((offset, -r), (offset, r)), ((-r, offset), (r, offset))):
                ends = np.array([[self.centre[0] + a[0], self.floor, self.centre[2] + a[1]],
                                 [self.centre[0] + b[0], self.floor, self.centre[2] + b[1]]])
                segments.append(self.project(ends, box, yaw, pitch))
        return segments


def _make_font(root):
    """The Canvas font: the system's fixed-width family at the largest pixel size whose characters are no
    wider than the PNG rasteriser's 6 px glyphs, so one layout fits both the window and the screenshot."""
    import tkinter.font as tkfont

    family = tkfont.nametofont("TkFixedFont", root=root).actual("family")
    font = tkfont.Font(root=root, name=SMALL_FONT, family=family, size=-13, exists=False)
    for pixels in range(13, 7, -1):
        font.configure(size=-pixels)
        if font.measure("0123456789") <= 10 * GLYPH_WIDTH + 2:
            break
    return font                                  # Tk deletes a named font when its Python object goes


def _fit_text(text: str, pixels: int) -> str:
    """Cuts ``text`` to ``pixels`` wide at the layout's 6 px per character."""
    limit = max(4, pixels // GLYPH_WIDTH)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class DemoApp:
    """The Tk window: a Canvas with the skeleton view, the top-5 panel and the timeline, plus controls.

    ``interactive=False`` (the headless screenshot) builds the Canvas only and raises ``DemoError``
    where the window would open an error dialog.
    """

    def __init__(self, root, options: argparse.Namespace, interactive: bool = True):
        import tkinter as tk

        self.tk, self.root, self.options, self.interactive = tk, root, options, interactive
        self.classifier: Optional[Classifier] = None
        self.colours = ClassColours()                       # kept across a playlist, reset with the model
        self.recording: Optional[Recording] = None
        self.live: Optional[LiveClassifier] = None
        self.view: Optional[SkeletonView] = None
        self.not_classified = "no model loaded"           # why the panel shows no prediction
        self.playlist: List[str] = []
        self.playlist_index = 0
        self.frame = 0
        self.playing = False
        self.timer = None
        self.yaw, self.pitch = DEFAULT_YAW, DEFAULT_PITCH
        self.drag_from: Optional[Tuple[int, int]] = None
        self.label_text = ""                                # the drawn top-1 label (for the screenshot JSON)
        self.width, self.height = options.width, options.height
        self.font = _make_font(root)
        root.title(TITLE)
        self.canvas = tk.Canvas(root, width=self.width, height=self.height, background=BACKGROUND,
                                highlightthickness=0)
        self.canvas.pack(fill=tk.BOTH, expand=True)
        if interactive:
            self._build_controls()
            root.report_callback_exception = self._callback_failed

    # -- widgets ---------------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        tk = self.tk
        menu = tk.Menu(self.root)
        file_menu = tk.Menu(menu, tearoff=False)
        file_menu.add_command(label="Open recording...", command=self._ask_recording, accelerator="Ctrl+O")
        file_menu.add_command(label="Open folder (playlist)...", command=self._ask_folder)
        file_menu.add_command(label="Open model...", command=self._ask_model)
        file_menu.add_separator()
        file_menu.add_command(label="Quit", command=self.root.destroy, accelerator="Ctrl+Q")
        menu.add_cascade(label="File", menu=file_menu)
        self.root.config(menu=menu)

        bar = tk.Frame(self.root)
        bar.pack(fill=tk.X, side=tk.BOTTOM)
        self.play_button = tk.Button(bar, text="Play", width=6, command=self.toggle_play)
        self.play_button.pack(side=tk.LEFT, padx=4, pady=4)
        tk.Button(bar, text="<< Prev", command=lambda: self.step_playlist(-1)).pack(side=tk.LEFT)
        tk.Button(bar, text="Next >>", command=lambda: self.step_playlist(1)).pack(side=tk.LEFT, padx=(2, 8))
        self.slider = tk.Scale(bar, from_=0, to=0, orient=tk.HORIZONTAL, showvalue=False, command=self._on_slider)
        self.slider.pack(side=tk.LEFT, fill=tk.X, expand=True)
        tk.Label(bar, text="speed").pack(side=tk.LEFT, padx=(8, 2))
        self.speed = tk.StringVar(value=_speed_text(self.options.speed))
        tk.OptionMenu(bar, self.speed, *sorted(set(SPEEDS) | {self.speed.get()}, key=float)).pack(side=tk.LEFT)
        tk.Label(bar, text="x").pack(side=tk.LEFT)
        self.status = tk.Label(bar, text="", width=22, anchor="e")
        self.status.pack(side=tk.LEFT, padx=4)

        self.canvas.bind("<ButtonPress-1>", self._drag_start)
        self.canvas.bind("<B1-Motion>", self._drag_move)
        self.canvas.bind("<Double-Button-1>", self._reset_view)
        self.canvas.bind("<Configure>", self._on_resize)
        self.root.bind("<space>", lambda event: self.toggle_play())
        self.root.bind("<Left>", lambda event: self.show_frame(self.frame - 1))
        self.root.bind("<Right>", lambda event: self.show_frame(self.frame + 1))
        self.root.bind("<Control-o>", lambda event: self._ask_recording())
        self.root.bind("<Control-q>", lambda event: self.root.destroy())

    def fail(self, message: str) -> None:
        if not self.interactive:
            raise DemoError(message)
        from tkinter import messagebox

        messagebox.showerror(TITLE, message, parent=self.root)

    def _callback_failed(self, kind, value, trace) -> None:
        # A bug in a callback must not close the app: show it, keep the traceback on stderr for reports.
        import traceback

        traceback.print_exception(kind, value, trace)
        self.playing = False
        self.play_button.configure(text="Play")
        self.fail(str(value) if isinstance(value, DemoError) else f"{kind.__name__}: {value}")

    def _ask_recording(self) -> None:
        from tkinter import filedialog

        path = filedialog.askopenfilename(parent=self.root, title="Open a recording", filetypes=[
            ("Recordings", "*.skeleton *.npy *.json *.pkl"), ("All files", "*")])
        if path:
            self.open_path(path)

    def _ask_folder(self) -> None:
        from tkinter import filedialog

        path = filedialog.askdirectory(parent=self.root, title="Open a folder of recordings")
        if path:
            self.open_path(path)

    def _ask_model(self) -> None:
        from tkinter import filedialog

        path = filedialog.askopenfilename(parent=self.root, title="Open a TFLite model",
                                          filetypes=[("TFLite models", "*.tflite"), ("All files", "*")])
        if path:
            self.open_model(path)

    # -- loading ---------------------------------------------------------------------------------------
    def open_model(self, path: str, labels: Optional[str] = None) -> bool:
        try:
            classifier = load_classifier(path, labels, self.options.threads)
        except DemoError as e:
            self.fail(str(e))
            return False
        self.set_classifier(classifier)
        return True

    def set_classifier(self, classifier: Optional[Classifier]) -> None:
        self.classifier = classifier
        self.colours = ClassColours()
        if self.recording is not None:
            self._attach_classifier()
            self.show_frame(self.frame)

    def open_path(self, path: str) -> bool:
        """A recording file, or a folder as a playlist (opens its first recording)."""
        try:
            playlist = playlist_for(path)
        except DemoError as e:
            self.fail(str(e))
            return False
        self.playlist, self.playlist_index = playlist, 0
        return self.open_playlist_item(0)

    def open_playlist_item(self, index: int) -> bool:
        try:
            recording = load_recording(self.playlist[index], self.options.index)
        except DemoError as e:
            self.playing = False
            self.fail(str(e))
            return False
        self.playlist_index = index
        self.set_recording(recording)
        return True

    def step_playlist(self, step: int) -> None:
        if self.playlist and 0 <= self.playlist_index + step < len(self.playlist):
            self.open_playlist_item(self.playlist_index + step)

    def set_recording(self, recording: Recording) -> None:
        self.recording = recording
        self.view = SkeletonView(recording, layout_for(recording, self.classifier))
        self.yaw, self.pitch = DEFAULT_YAW, DEFAULT_PITCH
        self.frame = 0
        if self.interactive:
            self.slider.configure(to=recording.num_frames - 1)
        self._attach_classifier()
        self.show_frame(0)

    def _attach_classifier(self) -> None:
        """Sliding windows for this recording and model; a mismatch leaves the recording playing unclassified."""
        self.live = None
        if self.classifier is None:
            self.not_classified = "no model loaded"
            return
        # A recording without a layout of its own draws the model's bones when the joint count matches.
        layout = layout_for(self.recording, self.classifier)
        self.view.edges = layout.draw_edges() if layout else []
        try:
            self.live = LiveClassifier(self.classifier, self.recording, self.options.window, self.options.stride,
                                       self.options.min_frames)
        except DemoError as e:
            self.not_classified = "not classified: layout mismatch (see the error)"
            self.fail(str(e))

    # -- playback --------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.recording is None:
            return
        if self.timer is not None:                      # one tick chain at a time, however fast the clicks
            self.root.after_cancel(self.timer)
            self.timer = None
        self.playing = not self.playing
        if self.playing and self.frame >= self.recording.num_frames - 1:
            self.show_frame(0)
        self.play_button.configure(text="Pause" if self.playing else "Play")
        if self.playing:
            self._tick()

    def _tick(self) -> None:
        self.timer = None
        if not self.playing or self.recording is None:
            return
        started = time.perf_counter()
        if self.frame + 1 < self.recording.num_frames:
            self.show_frame(self.frame + 1)
        elif self.playlist_index + 1 < len(self.playlist):
            if not self.open_playlist_item(self.playlist_index + 1):
                self.playing = False
        else:
            self.playing = False
        if not self.playing:
            self.play_button.configure(text="Play")
            return
        period_ms = 1000.0 / (self.options.fps * float(self.speed.get()))
        spent_ms = (time.perf_counter() - started) * 1000.0
        self.timer = self.root.after(max(1, int(period_ms - spent_ms)), self._tick)

    def _on_slider(self, value: str) -> None:
        frame = int(float(value))
        if frame != self.frame:
            self.show_frame(frame)

    def _drag_start(self, event) -> None:
        self.drag_from = (event.x, event.y)

    def _drag_move(self, event) -> None:
        if self.drag_from is None or self.view is None or self.view.flat:
            return
        dx, dy = event.x - self.drag_from[0], event.y - self.drag_from[1]
        self.drag_from = (event.x, event.y)
        self.yaw += dx * 0.01
        self.pitch = float(np.clip(self.pitch + dy * 0.01, -1.5, 1.5))
        self.draw()

    def _reset_view(self, event) -> None:
        self.yaw, self.pitch = DEFAULT_YAW, DEFAULT_PITCH
        self.draw()

    def _on_resize(self, event) -> None:
        if (event.width, event.height) != (self.width, self.height) and event.width > 200 and event.height > 200:
            self.width, self.height = event.width, event.height
            self.draw()

    def show_frame(self, frame: int) -> None:
        """Shows frame ``frame`` after classifying every window that ends by then."""
        if self.recording is None:
            return
        self.frame = int(np.clip(frame, 0, self.recording.num_frames - 1))
        if self.live is not None:
            for result in self.live.seen(self.frame):
                self.colours.assign(result.top_class)
        if self.interactive:
            self.slider.set(self.frame)
            self.status.configure(text=f"frame {self.frame} / {self.recording.num_frames}")
        self.draw()

    # -- drawing ---------------------------------------------------------------------------------------
    def draw(self) -> None:
        self.canvas.delete("all")
        if self.recording is None:
            self.canvas.create_text(self.width / 2, self.height / 2, text="File > Open recording...", fill=MUTED,
                                    font=SMALL_FONT)
            return
        view_box = (10, 10, self.width - PANEL_WIDTH - 10, self.height - TIMELINE_HEIGHT - 10)
        self._draw_skeletons(view_box)
        self._draw_panel(self.width - PANEL_WIDTH, 12)
        self._draw_timeline(self.height - TIMELINE_HEIGHT)

    def _draw_skeletons(self, box) -> None:
        canvas, view = self.canvas, self.view
        for segment in view.floor_grid(box, self.yaw, self.pitch):
            canvas.create_line(*segment[:, :2].ravel(), fill=GRID, width=1)
        t = self.frame
        bones, joints = [], []                             # (depth, ...) drawn far to near
        for m in range(view.points.shape[0]):
            present = view.present[m, t]
            if not present.any():
                continue
            colour = PERSON_COLOURS[m % len(PERSON_COLOURS)]
            screen = view.project(view.points[m, t], box, self.yaw, self.pitch)
            for i, j in view.edges:
                if present[i] and present[j]:
                    bones.append(((screen[i, 2] + screen[j, 2]) / 2, screen[i, :2], screen[j, :2], colour))
            for v in np.nonzero(present)[0]:
                joints.append((screen[v, 2], screen[v, :2], colour))
        for _, a, b, colour in sorted(bones, key=lambda bone: -bone[0]):
            canvas.create_line(a[0], a[1], b[0], b[1], fill=colour, width=4, capstyle="round")
        for _, p, colour in sorted(joints, key=lambda joint: -joint[0]):
            canvas.create_oval(p[0] - 3.5, p[1] - 3.5, p[0] + 3.5, p[1] + 3.5, fill=colour, outline="")
        hint = "2-D layout (flat)" if view.flat else "drag to rotate, double-click to reset"
        canvas.create_text(box[0], box[3], text=hint, anchor="sw", fill=MUTED, font=SMALL_FONT)

    def _draw_panel(self, x: int, y: int) -> None:
        canvas, recording, width = self.canvas, self.recording, PANEL_WIDTH - 20
        name = recording.name or os.path.basename(self.playlist[self.playlist_index])
        if len(self.playlist) > 1:
            name = f"{name}  ({self.playlist_index + 1}/{len(self.playlist)})"
        persons = int(self.view.present[:, self.frame].any(axis=1).sum())
        layout = recording.layout or (self.classifier.info.get("layout") if self.classifier else None) or "?"
        lines = [(_fit_text(name, width), INK),
                 (f"frame {self.frame} / {recording.num_frames}   {layout}   persons: {persons}", MUTED)]
        if recording.label is not None and self.live is not None:       # class names of the same model only
            lines.append((_fit_text(f"true class: {self.classifier.label(int(recording.label))}", width), MUTED))
        for text, colour in lines:
            canvas.create_text(x, y, text=text, anchor="nw", fill=colour, font=SMALL_FONT)
            y += 18
        y += 8
        self.label_text = ""
        result = self.live.latest(self.frame) if self.live else None
        if result is None:
            reason = self.not_classified if self.live is None else \
                f"waiting for {self.live.min_frames} frames before the first window"
            canvas.create_text(x, y, text=_fit_text(reason, width), anchor="nw", fill=MUTED, font=SMALL_FONT)
            return
        frames = result.end - result.start
        canvas.create_text(x, y, text=f"window: frames {result.start}-{result.end - 1} ({frames} -> T="
                           f"{self.classifier.frames})", anchor="nw", fill=MUTED, font=SMALL_FONT)
        y += 24
        order = np.argsort(-result.probabilities)[:5]
        for rank, index in enumerate(order):
            label = _fit_text(self.classifier.label(int(index)), width - 60)
            probability = float(result.probabilities[index])
            tags = (TOP1_TAG,) if rank == 0 else ()
            canvas.create_text(x, y, text=label, anchor="nw", fill=INK, font=SMALL_FONT, tags=tags)
            canvas.create_text(x + width, y, text=f"{100 * probability:.1f} %", anchor="ne", fill=INK,
                               font=SMALL_FONT)
            canvas.create_rectangle(x, y + 17, x + width, y + 29, fill=UNSEEN, outline="")
            canvas.create_rectangle(x, y + 17, x + max(1.0, width * probability), y + 29,
                                    fill=self.colours.get(int(index)), outline="")
            if rank == 0:
                self.label_text = label
            y += 40
        latencies = [r.latency_ms for r in self.live.seen(self.frame)]
        canvas.create_text(x, y + 4, text=f"latency {result.latency_ms:.1f} ms / window", anchor="nw", fill=INK,
                           font=SMALL_FONT)
        canvas.create_text(x, y + 22, text=f"mean {np.mean(latencies):.1f} ms over {len(latencies)} windows, "
                           f"every {self.live.stride} frames", anchor="nw", fill=MUTED, font=SMALL_FONT)

    def _draw_timeline(self, top: int) -> None:
        canvas, total = self.canvas, self.recording.num_frames
        left, right = 10, self.width - 10
        canvas.create_text(left, top, text="top class over time (one colour per class)", anchor="nw", fill=INK,
                           font=SMALL_FONT)
        strip_top, strip_bottom = top + 20, top + 44

        def x_of(frame: float) -> float:
            return left + (right - left) * frame / total

        canvas.create_rectangle(left, strip_top, right, strip_bottom, fill=UNSEEN, outline="")
        canvas.create_rectangle(left, strip_top, x_of(self.frame + 1), strip_bottom, fill=NO_PREDICTION, outline="")
        results = self.live.seen(self.frame) if self.live else []
        counts: Dict[int, int] = {}
        for i, result in enumerate(results):
            # A window's answer stands from the frame it ran on until the next window or the current frame.
            until = results[i + 1].end if i + 1 < len(results) else self.frame + 1
            canvas.create_rectangle(x_of(result.end - 1), strip_top, x_of(until), strip_bottom,
                                    fill=self.colours.get(result.top_class), outline="")
            counts[result.top_class] = counts.get(result.top_class, 0) + until - result.end + 1
        cursor = x_of(self.frame + 0.5)
        canvas.create_line(cursor, strip_top - 4, cursor, strip_bottom + 4, fill=INK, width=2)
        canvas.create_text(left, strip_bottom + 4, text="0", anchor="nw", fill=MUTED, font=SMALL_FONT)
        canvas.create_text(right, strip_bottom + 4, text=str(total - 1), anchor="ne", fill=MUTED, font=SMALL_FONT)
        x = left + 40
        for index in sorted(counts, key=lambda c: -counts[c]):                # legend, most frequent first
            text = _fit_text(self.classifier.label(index), 220)
            needed = 18 + GLYPH_WIDTH * len(text) + 16
            if x + needed > right - 40:
                break
            canvas.create_rectangle(x, strip_bottom + 7, x + 12, strip_bottom + 19, fill=self.colours.get(index),
                                    outline="")
            canvas.create_text(x + 18, strip_bottom + 6, text=text, anchor="nw", fill=INK, font=SMALL_FONT)
            x += needed

    # -- headless --------------------------------------------------------------------------------------
    def screenshot(self, png_path: str) -> dict:
        """Writes the Canvas as a PNG; returns the JSON report (prediction and the top-1 label's pixel box)."""
        from apps.raster import encode_png, rasterise_canvas

        self.root.update_idletasks()
        image, text_boxes = rasterise_canvas(self.canvas, self.width, self.height)
        folder = os.path.dirname(os.path.abspath(png_path))
        os.makedirs(folder, exist_ok=True)
        with open(png_path, "wb") as f:
            f.write(encode_png(image))
        result = self.live.latest(self.frame) if self.live else None
        report = {"input": self.playlist[self.playlist_index], "frame": self.frame,
                  "num_frames": self.recording.num_frames, "layout": self.recording.layout,
                  "image_size": [int(image.shape[1]), int(image.shape[0])], "png": png_path}
        if result is not None:
            order = np.argsort(-result.probabilities)[:5]
            report.update({
                "window": [result.start, result.end], "top1": self.classifier.label(int(order[0])),
                "top1_index": int(order[0]), "top1_colour": self.colours.get(int(order[0])),
                "label_text": self.label_text,
                "label_box": list(text_boxes.get(TOP1_TAG, ())), "latency_ms": round(result.latency_ms, 3),
                "windows": len(self.live.seen(self.frame)),
                "top5": [[self.classifier.label(int(i)), float(result.probabilities[i])] for i in order]})
        return report


def _speed_text(speed: float) -> str:
    return f"{speed:g}"


def _options(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m apps.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="TFLite model (default: the bundled demo model).")
    parser.add_argument("--labels", default=None, help="Class names, one per line (default: labels.txt by the model).")
    parser.add_argument("--input", default=DEFAULT_RECORDING,
                        help="Recording (.skeleton, .npy, .json, .pkl) or a folder of them (a playlist).")
    parser.add_argument("--index", type=int, default=0, help="Sample index in a prepared array or PYSKL dataset.")
    parser.add_argument("--window", type=int, default=64, help="Frames of the recording per classified window.")
    parser.add_argument("--stride", type=int, default=8, help="Frames between two classified windows.")
    parser.add_argument("--min_frames", type=int, default=0,
                        help="Frames seen before the first window (0 = the model's T, at most --window).")
    parser.add_argument("--fps", type=float, default=30.0, help="Playback frame rate at speed 1 (NTU: 30).")
    parser.add_argument("--speed", type=float, default=1.0, help="Initial playback speed factor.")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT interpreter threads.")
    parser.add_argument("--width", type=int, default=CANVAS_SIZE[0], help="Canvas width in pixels.")
    parser.add_argument("--height", type=int, default=CANVAS_SIZE[1], help="Canvas height in pixels.")
    parser.add_argument("--screenshot", default=None, help="Headless: write frame --frame as this PNG (+ .json), exit.")
    parser.add_argument("--frame", type=int, default=None, help="Frame to render with --screenshot (default: last).")
    parser.add_argument("--report", default=None,
                        help="JSON written with --screenshot (default: the PNG's path with .json; 'none' to skip).")
    parser.add_argument("--play", action="store_true", help="Start playing at once.")
    parser.add_argument("--quit_after", type=float, default=0.0, help=argparse.SUPPRESS)   # smoke tests
    options = parser.parse_args(argv)
    for name in ("window", "stride", "threads"):
        if getattr(options, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if options.fps <= 0 or options.speed <= 0 or options.width < 400 or options.height < 300:
        parser.error("--fps and --speed must be positive, the canvas at least 400 x 300")
    return options


def _open_display():
    try:
        import tkinter as tk
    except ImportError as e:
        raise DemoError(f"tkinter is not available ({e}); install it, e.g. apt-get install python3-tk") from None
    try:
        return tk.Tk(className="keras-skeleton-demo")
    except tk.TclError as e:
        raise DemoError(f"cannot open a display ({e}); set DISPLAY or run under xvfb-run") from None


def run_screenshot(options: argparse.Namespace) -> dict:
    """Headless: loads everything before opening the display (errors need no X server), renders, writes."""
    classifier = load_classifier(options.model, options.labels, options.threads)
    playlist = playlist_for(options.input)
    recording = load_recording(playlist[0], options.index)
    frame = recording.num_frames - 1 if options.frame is None else options.frame
    if not 0 <= frame < recording.num_frames:
        raise DemoError(f"--frame={frame} is outside the recording's frames 0..{recording.num_frames - 1}")
    LiveClassifier(classifier, recording, options.window, options.stride, options.min_frames)   # checks the fit
    root = _open_display()
    try:
        root.withdraw()                                   # nothing flashes on screen; the Canvas still draws
        app = DemoApp(root, options, interactive=False)
        app.playlist = playlist
        app.set_classifier(classifier)
        app.set_recording(recording)
        app.show_frame(frame)
        report = app.screenshot(options.screenshot)
    finally:
        root.destroy()
    json_path = options.report or os.path.splitext(options.screenshot)[0] + ".json"
    if json_path != "none":
        with open(json_path, "w") as f:
            json.dump(report, f, indent=1)
    return report


def run_window(options: argparse.Namespace) -> None:
    root = _open_display()
    app = DemoApp(root, options)
    app.open_model(options.model, options.labels)          # on failure: a dialog, the recording still plays
    app.open_path(options.input)
    if options.play and app.recording is not None:
        app.toggle_play()
    if options.quit_after > 0:
        root.after(int(options.quit_after * 1000), root.destroy)
    root.mainloop()


def main(argv=None) -> int:
    options = _options(argv)
    try:
        if options.screenshot:
            report = run_screenshot(options)
            summary = f"top-1 {report['top1']!r}" if "top1" in report else "no window classified yet"
            print(f"{options.screenshot}: frame {report['frame']} of {report['input']}, {summary}")
        else:
            run_window(options)
    except DemoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
