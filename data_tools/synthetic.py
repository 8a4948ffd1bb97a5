"""Synthetic NTU-format recordings, so that everything runs on a fresh machine with no download.

Writes raw Kinect-v2 ``.skeleton`` text files named ``SsssCcccPpppRrrrAaaa`` like
the real NTU RGB+D data, for a handful of NTU actions that a skeleton model can tell
apart (arm raises, waving, clapping, kicking, sitting down, jumping and two-person
interactions). Each clip varies body size, speed, viewpoint (camera), timing and
sensor noise; interactions carry two bodies. The same files then go through the
real NTU converter (``data_tools.ntu``), so the quickstart exercises the whole path.

    python -m data_tools.synthetic --out_dir=data/synthetic_raw [--performers=10] [--seed=0]
"""

from __future__ import annotations

import glob
import importlib.util
import os
import subprocess
import sys
from typing import Callable, Dict, List, Tuple

import numpy as np

from data_tools.layouts import get_layout
from data_tools.prepared import atomic_path

LAYOUT = get_layout("ntu25")

# Rest pose of a 1.75 m adult, metres, joint order of the ntu25 layout (y up, the person faces -z).
_REST = np.array([
    [0.00, 0.00, 0.00], [0.00, 0.27, 0.00], [0.00, 0.58, 0.00], [0.00, 0.72, 0.00],     # 1-4 spine, neck, head
    [-0.18, 0.48, 0.00], [-0.20, 0.20, 0.00], [-0.21, -0.05, 0.00], [-0.21, -0.12, 0.00],  # 5-8 left arm
    [0.18, 0.48, 0.00], [0.20, 0.20, 0.00], [0.21, -0.05, 0.00], [0.21, -0.12, 0.00],    # 9-12 right arm
    [-0.09, -0.03, 0.00], [-0.10, -0.45, 0.00], [-0.10, -0.86, 0.02], [-0.10, -0.90, -0.10],  # 13-16
    [0.09, -0.03, 0.00], [0.10, -0.45, 0.00], [0.10, -0.86, 0.02], [0.10, -0.90, -0.10],   # 17-20
    [0.00, 0.50, 0.00], [-0.21, -0.19, 0.00], [-0.18, -0.12, -0.03],                      # 21-23
    [0.21, -0.19, 0.00], [0.18, -0.12, -0.03],                                             # 24-25
], dtype=np.float64)

J = {name: i for i, name in enumerate(LAYOUT.joint_names)}


def _rig_parents() -> List[int]:
    """Forward-kinematics tree: the layout's tree re-rooted at the base of the spine."""
    neighbours: Dict[int, List[int]] = {j: [] for j in range(LAYOUT.num_joints)}
    for a, b in LAYOUT.inward_edges("pyskl"):
        neighbours[a].append(b)
        neighbours[b].append(a)
    parents, order, queue = [-1] * LAYOUT.num_joints, [], [J["base_of_spine"]]
    parents[queue[0]] = queue[0]
    while queue:
        joint = queue.pop(0)
        order.append(joint)
        for nxt in neighbours[joint]:
            if parents[nxt] == -1:
                parents[nxt] = joint
                queue.append(nxt)
    return parents, order


_PARENTS, _ORDER = _rig_parents()


def _rot_x(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_z(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _pose(local: Dict[str, np.ndarray], scale: float) -> np.ndarray:
    """Joint positions (25, 3) from local rotations (name -> 3x3) applied at each joint."""
    positions = np.zeros((LAYOUT.num_joints, 3))
    world = [np.eye(3)] * LAYOUT.num_joints
    for joint in _ORDER:
        parent = _PARENTS[joint]
        rotation = local.get(LAYOUT.joint_names[joint], np.eye(3))
        if parent == joint:
            world[joint] = rotation
            continue
        offset = (_REST[joint] - _REST[parent]) * scale
        positions[joint] = positions[parent] + world[parent] @ offset
        world[joint] = world[parent] @ rotation
    return positions


# Each action maps a phase s in [0, 1] to (local rotations, root offset in metres).
Motion = Callable[[float, np.random.Generator], Tuple[Dict[str, np.ndarray], np.ndarray]]


def _raise_both(s, p):           # A022 cheer up: both arms up and down twice
    a = np.pi * 0.85 * np.sin(np.pi * 2 * s) ** 2
    return {"right_shoulder": _rot_z(a), "left_shoulder": _rot_z(-a)}, np.zeros(3)


def _wave(s, p):                 # A023 hand waving: right arm up, forearm swings
    return {"right_shoulder": _rot_z(2.4), "right_elbow": _rot_z(0.5 * np.sin(6 * np.pi * s))}, np.zeros(3)


def _clap(s, p):                 # A010 clapping: arms forward, hands meet repeatedly
    spread = 0.35 * (1 + np.sin(8 * np.pi * s)) / 2
    return {"right_shoulder": _rot_x(1.3) @ _rot_z(spread), "left_shoulder": _rot_x(1.3) @ _rot_z(-spread),
            "right_elbow": _rot_x(0.4), "left_elbow": _rot_x(0.4)}, np.zeros(3)


def _kick(s, p):                 # A024 kicking something: right leg swings forward once
    swing = 1.2 * np.sin(np.pi * np.clip((s - 0.3) / 0.4, 0, 1))
    return {"right_hip": _rot_x(swing), "right_knee": _rot_x(-0.6 * swing * (1 - swing / 1.2))}, np.zeros(3)


def _sit_down(s, p):             # A008 sitting down: hips and knees flex, the body lowers
    k = np.clip(s / 0.7, 0, 1)
    k = k * k * (3 - 2 * k)
    return ({"left_hip": _rot_x(1.5 * k), "right_hip": _rot_x(1.5 * k), "left_knee": _rot_x(-1.5 * k),
             "right_knee": _rot_x(-1.5 * k), "middle_of_spine": _rot_x(0.25 * k)},
            np.array([0.0, -0.42 * k, 0.15 * k]))


def _jump(s, p):                 # A027 jump up: crouch, take off, land
    crouch = 0.7 * np.exp(-((s - 0.25) / 0.08) ** 2) + 0.7 * np.exp(-((s - 0.75) / 0.08) ** 2)
    height = 0.35 * max(0.0, np.sin(np.pi * (s - 0.3) / 0.4)) if 0.3 < s < 0.7 else 0.0
    return ({"left_hip": _rot_x(crouch), "right_hip": _rot_x(crouch), "left_knee": _rot_x(-2 * crouch),
             "right_knee": _rot_x(-2 * crouch), "right_shoulder": _rot_x(1.2 * height / 0.35),
             "left_shoulder": _rot_x(1.2 * height / 0.35)},
            np.array([0.0, height - 0.25 * crouch, 0.0]))


def _punch(s, p):                # A050 punching/slapping the other person (actor 1)
    reach = np.sin(np.pi * np.clip((s - 0.2) / 0.5, 0, 1))
    return {"right_shoulder": _rot_x(1.5 * reach), "right_elbow": _rot_x(1.2 * (1 - reach))}, np.zeros(3)


def _handshake(s, p):            # A058 handshaking: both actors reach out the right hand
    reach = np.clip(np.sin(np.pi * s) * 1.3, 0, 1)
    shake = 0.12 * np.sin(10 * np.pi * s) * reach
    return {"right_shoulder": _rot_x(1.0 * reach + shake), "right_elbow": _rot_x(0.5 * reach)}, np.zeros(3)


def _idle(s, p):                 # the second actor of a punch flinches backwards
    lean = 0.3 * np.clip((s - 0.45) / 0.2, 0, 1)
    return {"middle_of_spine": _rot_x(-lean)}, np.array([0.0, 0.0, 0.2 * lean])


# NTU action number (1-based) -> (actor 1 motion, actor 2 motion or None)
ACTIONS: Dict[int, Tuple[Motion, object]] = {
    8: (_sit_down, None), 10: (_clap, None), 22: (_raise_both, None), 23: (_wave, None),
    24: (_kick, None), 27: (_jump, None), 50: (_punch, _idle), 58: (_handshake, _handshake),
}
CAMERA_YAW = {1: 0.0, 2: np.pi / 4, 3: -np.pi / 4}   # NTU's cameras: front and two 45-degree views


def synthesize_clip(action: int, camera: int, rng: np.random.Generator) -> np.ndarray:
    """Camera-space joints ``(num_bodies, T, 25, 3)`` of one synthetic clip."""
    motion, partner = ACTIONS[action]
    num_frames = int(rng.integers(50, 111))        # speed variation
    actors = [motion] + ([partner] if partner is not None else [])
    distance = rng.uniform(2.8, 3.6)
    yaw = CAMERA_YAW[camera] + rng.normal(0, 0.08)
    bodies = []
    for index, fn in enumerate(actors):
        scale = rng.uniform(0.85, 1.15)            # body size
        start, stop = rng.uniform(0.0, 0.1), rng.uniform(0.9, 1.0)
        lateral = 0.0 if len(actors) == 1 else (-0.5 if index == 0 else 0.5)
        frames = []
        for t in range(num_frames):
            s = float(np.clip((t / (num_frames - 1) - start) / (stop - start), 0, 1))
            local, root = fn(s, rng)
            pose = _pose(local, scale) + root * scale
            # A lone actor faces the camera (-z); interacting actors turn to face each other.
            turn = 0.0 if len(actors) == 1 else (-np.pi / 2 if index == 0 else np.pi / 2)
            pose = pose @ _rot_y(turn).T + np.array([lateral, 0, 0])
            frames.append(pose)
        body = np.stack(frames) @ _rot_y(yaw).T
        body += np.array([rng.normal(0, 0.1), -0.2 + rng.normal(0, 0.05), distance])
        body += rng.normal(0, 0.008, body.shape)   # sensor noise
        bodies.append(body)
    return np.stack(bodies).astype(np.float32)


def skeleton_text(bodies: np.ndarray, body_ids: List[int]) -> str:
    """NTU ``.skeleton`` text for ``bodies (B, T, 25, 3)`` (all bodies present in every frame)."""
    num_bodies, num_frames = bodies.shape[:2]
    lines = [str(num_frames)]
    for t in range(num_frames):
        lines.append(str(num_bodies))
        for b in range(num_bodies):
            lines.append(f"{body_ids[b]} 0 1 1 1 1 0 0.01 -0.02 2")
            lines.append("25")
            for x, y, z in bodies[b, t]:
                # depth/colour pixel coordinates: a pinhole projection, unused by the pipelines.
                u, v = 256 + 365 * x / z, 212 - 365 * y / z
                cu, cv = 960 + 1060 * x / z, 540 - 1060 * y / z
                lines.append(f"{x:.7g} {y:.7g} {z:.7g} {u:.5g} {v:.5g} {cu:.5g} {cv:.5g} 0 0 0 0 2")
    return "\n".join(lines) + "\n"


def generate(out_dir: str, performers: int = 10, replications: int = 1, seed: int = 0,
             actions=None) -> List[str]:
    """Writes ``performers x 3 cameras x replications x len(actions)`` recordings; returns their paths.

    Performers 1..P fall on both sides of the NTU X-Sub split (train: 1, 2, 4, 5, 8, 9, ...).
    """
    os.makedirs(out_dir, exist_ok=True)
    actions = sorted(ACTIONS) if actions is None else actions
    rng = np.random.default_rng(seed)
    paths = []
    for performer in range(1, performers + 1):
        for camera in (1, 2, 3):
            for replication in range(1, replications + 1):
                for action in actions:
                    name = f"S001C{camera:03d}P{performer:03d}R{replication:03d}A{action:03d}"
                    bodies = synthesize_clip(action, camera, rng)
                    ids = [int(rng.integers(10 ** 16, 9 * 10 ** 16)) for _ in range(len(bodies))]
                    path = os.path.join(out_dir, name + ".skeleton")
                    with atomic_path(path) as tmp:
                        with open(tmp, "w") as f:
                            f.write(skeleton_text(bodies, ids))
                    paths.append(path)
    return paths


def prepare(data_dir: str, performers: int = 10, seed: int = 0, workers: int = 2) -> str:
    """Generates the recordings and prepares them with the real NTU converter.

    ``data_dir`` names the benchmark folder to produce, ``<root>/xsub`` or
    ``<root>/xview``; the recordings go to ``<root>/raw``.
    """
    root, benchmark = os.path.split(os.path.normpath(data_dir))
    if benchmark not in ("xsub", "xview"):
        raise ValueError(f"synthetic data_dir must end in /xsub or /xview, got '{data_dir}'")
    raw_dir = os.path.join(root, "raw")
    if len(glob.glob(os.path.join(raw_dir, "*.skeleton"))) < performers * 3 * len(ACTIONS):
        generate(raw_dir, performers=performers, seed=seed)
    if importlib.util.find_spec("data_tools.ntu") is not None:
        command = [sys.executable, "-m", "data_tools.ntu", f"--raw_dir={raw_dir}", f"--out_dir={root}",
                   "--dataset=ntu60", "--benchmarks=xsub,xview", f"--workers={workers}"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not os.path.isfile(os.path.join(data_dir, "meta.json")):
            raise RuntimeError(f"preparing the synthetic data failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    else:
        _prepare_directly(raw_dir, root)
    return data_dir


# NTU-60 X-Sub training performers (MODEL_SPEC §7.5).
_XSUB_TRAIN = {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}


def _read_clean_recording(path: str) -> np.ndarray:
    """``(2, T, 25, 3)`` from a synthetic recording (every body in every frame, as written above)."""
    lines = open(path).read().split("\n")
    num_frames, cursor = int(lines[0]), 1
    joints = np.zeros((2, num_frames, 25, 3), np.float32)
    for t in range(num_frames):
        num_bodies, cursor = int(lines[cursor]), cursor + 1
        for b in range(num_bodies):
            rows = lines[cursor + 2:cursor + 27]
            if b < 2:
                joints[b, t] = np.array([row.split()[:3] for row in rows], dtype=np.float32)
            cursor += 27
    return joints


def _prepare_directly(raw_dir: str, root: str) -> None:
    """Minimal path used only when the NTU converter is not installed: centring on joint 2 of
    actor 1 in the first frame and zero padding to 300 frames, as the official step 3 does."""
    from data_tools.prepared import write_meta, write_split
    paths = sorted(glob.glob(os.path.join(raw_dir, "*.skeleton")))
    for benchmark, is_train in (("xsub", lambda n: int(n[9:12]) in _XSUB_TRAIN),
                                ("xview", lambda n: int(n[5:8]) != 1)):
        splits = {"train": [], "val": []}
        for path in paths:
            name = os.path.basename(path)[:-len(".skeleton")]
            splits["train" if is_train(name) else "val"].append((name, path))
        out = os.path.join(root, benchmark)

        def load(path):
            joints = _read_clean_recording(path)
            present = (joints != 0).any(axis=(2, 3))
            joints = joints - joints[0, 0, 1]
            joints[~present] = 0.0
            return joints

        for split, items in splits.items():
            write_split(out, split, [n for n, _ in items], [int(n[-3:]) - 1 for n, _ in items],
                        (load(p) for _, p in items), num_persons=2, max_frames=300, num_joints=25,
                        num_channels=3)
        from data_tools.ntu_classes import NTU60_CLASSES
        write_meta(out, "ntu25", 60, NTU60_CLASSES, splits={k: len(v) for k, v in splits.items()},
                   source=f"synthetic NTU-format recordings in {raw_dir} (minimal direct path)")


def main(argv):
    del argv
    from absl import flags
    paths = generate(flags.FLAGS.out_dir, flags.FLAGS.performers, flags.FLAGS.replications, flags.FLAGS.seed)
    print(f"wrote {len(paths)} synthetic NTU recordings to {flags.FLAGS.out_dir}")


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("out_dir", "data/synthetic_raw", "Where to write the .skeleton files.")
    flags.DEFINE_integer("performers", 10, "Number of performers (subjects).")
    flags.DEFINE_integer("replications", 1, "Repetitions per performer, camera and action.")
    flags.DEFINE_integer("seed", 0, "Random seed.")
    app.run(main)
