"""Skeleton layouts and adjacency builders (numpy only).

Every layout is written exactly once here: joint names, a parent tree rooted at the
layout's centre, and (where a reference model reads a different tree) named
alternative parent lists. Edges, bone pairs and adjacency stacks are all derived
from these definitions.

Orientation of aggregation matrices (MODEL_SPEC §0.2):
  * ``"target_row"`` (CTR-GCN family): ``out[u] = sum_v A[u, v] h[v]``.
  * ``"source_row"`` (EfficientGCN, ST-GCN++): ``out[w] = sum_v h[v] A[v, w]``.
The builders return the *raw* reference matrices (1 at row ``parent``, column
``child`` for inward links, column-normalised); a model reading them in the other
orientation simply uses them as they are, exactly as its reference does.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class SkeletonLayout:
    """A skeleton layout.

    Attributes:
        name: registry name (``"ntu25"``, ``"coco17"``, ...).
        joint_names: one name per joint, 0-based order of the data arrays.
        parents: ``parents[j]`` is the parent of joint ``j`` in a tree rooted at
            ``center`` (the root is its own parent). Inward edges are
            ``(j, parents[j])`` for every non-root ``j``.
        center: root joint of the tree (0-based).
        num_channels: coordinates per joint in this layout's usual data (3 for 3-D
            sensors, 3 for 2-D pose estimators with a score channel).
        extra_edges: links of the sensor's own drawing graph that are not tree
            edges (e.g. MediaPipe's cycles), 0-based ``(i, j)`` pairs.
        alt_parents: named alternative parent lists used by specific reference
            models (e.g. ``"pyskl"`` hand variant, ``"efficientgcn"`` bones).
        description: one line for tables and error messages.
    """

    name: str
    joint_names: Tuple[str, ...]
    parents: Tuple[int, ...]
    center: int
    num_channels: int = 3
    extra_edges: Tuple[Tuple[int, int], ...] = ()
    alt_parents: Dict[str, Tuple[int, ...]] = dataclasses.field(default_factory=dict)
    description: str = ""

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def parent_list(self, variant: Optional[str] = None) -> Tuple[int, ...]:
        """The parent list of ``variant`` (``None`` = the layout's main tree)."""
        if variant is None or variant == "default":
            return self.parents
        if variant not in self.alt_parents:
            raise ValueError(
                f"Layout '{self.name}' has no parent variant '{variant}'; "
                f"available: default, {', '.join(sorted(self.alt_parents)) or '(none)'}"
            )
        return self.alt_parents[variant]

    def inward_edges(self, variant: Optional[str] = None) -> List[Tuple[int, int]]:
        """Directed ``(child, parent)`` pairs of the tree, 0-based, self-loops dropped."""
        parents = self.parent_list(variant)
        return [(j, p) for j, p in enumerate(parents) if j != p]

    def outward_edges(self, variant: Optional[str] = None) -> List[Tuple[int, int]]:
        return [(p, j) for j, p in self.inward_edges(variant)]

    def bone_pairs(self, variant: Optional[str] = None) -> List[Tuple[int, int]]:
        """``(joint, reference)`` pairs for the bone modality: ``bone[j] = X[j] - X[ref]``.

        One pair per joint in joint order; the root refers to itself (zero bone).
        """
        return list(enumerate(self.parent_list(variant)))

    def draw_edges(self) -> List[Tuple[int, int]]:
        """Undirected edges to draw: tree edges plus the sensor's extra links."""
        return [(j, p) for j, p in self.inward_edges()] + list(self.extra_edges)


def _one_based(pairs: Sequence[Tuple[int, int]]) -> List[Tuple[int, int]]:
    return [(a - 1, b - 1) for a, b in pairs]


def _parents_from_inward(num_joints: int, center: int, inward: Sequence[Tuple[int, int]]) -> Tuple[int, ...]:
    parents = [-1] * num_joints
    parents[center] = center
    for child, parent in inward:
        if parents[child] != -1:
            raise ValueError(f"joint {child} has two parents")
        parents[child] = parent
    if -1 in parents:
        raise ValueError(f"joints without parent: {[j for j, p in enumerate(parents) if p == -1]}")
    return tuple(parents)


# --- NTU RGB+D, Kinect v2, 25 joints (MODEL_SPEC §1.1-1.4) --------------------------------------
_NTU25_NAMES = (
    "base_of_spine", "middle_of_spine", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
    "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
)
_NTU25_BODY = [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9),
               (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18),
               (20, 19)]
# Variant A (CTR-GCN, PaddleVideo, EfficientGCN graphs): hand points chained.
_NTU25_HANDS_CHAIN = [(22, 23), (23, 8), (24, 25), (25, 12)]
# Variant B (PYSKL "nturgb+d"): both hand points attached to the hand.
_NTU25_HANDS_PYSKL = [(22, 8), (23, 8), (24, 12), (25, 12)]
# EfficientGCN "connect_joint", 1-based parent of joints 1..25 (joint 2 is its own parent).
_NTU25_EFFICIENTGCN_PARENTS = (2, 2, 21, 3, 21, 5, 6, 7, 21, 9, 10, 11, 1, 13, 14, 15, 1, 17, 18, 19,
                               2, 23, 8, 25, 12)

NTU25 = SkeletonLayout(
    name="ntu25",
    joint_names=_NTU25_NAMES,
    parents=_parents_from_inward(25, 20, _one_based(_NTU25_BODY + _NTU25_HANDS_CHAIN)),
    center=20,
    alt_parents={
        "pyskl": _parents_from_inward(25, 20, _one_based(_NTU25_BODY + _NTU25_HANDS_PYSKL)),
        "efficientgcn": tuple(p - 1 for p in _NTU25_EFFICIENTGCN_PARENTS),
    },
    description="NTU RGB+D / Kinect v2, 25 joints, x/y/z metres",
)

# --- NW-UCLA, Kinect v1, 20 joints (CTR-GCN graph/ucla.py semantics) -------------------------------
NWUCLA20 = SkeletonLayout(
    name="nwucla20",
    joint_names=(
        "hip_center", "spine", "shoulder_center", "head",
        "left_shoulder", "left_elbow", "left_wrist", "left_hand",
        "right_shoulder", "right_elbow", "right_wrist", "right_hand",
        "left_hip", "left_knee", "left_ankle", "left_foot",
        "right_hip", "right_knee", "right_ankle", "right_foot",
    ),
    parents=_parents_from_inward(20, 2, _one_based(
        [(1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10), (12, 11),
         (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19)])),
    center=2,
    description="NW-UCLA / Kinect v1, 20 joints, x/y/z",
)

# --- COCO-17 (HRNet, MMPose, RTMPose, YOLO-pose; PYSKL "coco") ------------------------------------
COCO17 = SkeletonLayout(
    name="coco17",
    joint_names=("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                 "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
                 "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"),
    parents=_parents_from_inward(17, 0, [(15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7),
                                         (7, 5), (10, 8), (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0),
                                         (4, 2)]),
    center=0,
    alt_parents={
        # PYSKL's coco bone pairs hang the hips on the nose (not on the shoulders).
        "pyskl_bones": (0, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 0, 0, 11, 12, 13, 14),
    },
    description="COCO-17 2-D keypoints, x/y/score",
)

# --- OpenPose COCO-18 ----------------------------------------------------------------------------
OPENPOSE18 = SkeletonLayout(
    name="openpose18",
    joint_names=("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                 "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
                 "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear"),
    parents=_parents_from_inward(18, 1, [(4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9),
                                         (9, 8), (11, 5), (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0),
                                         (17, 15), (16, 14)]),
    center=1,
    description="OpenPose COCO-18 2-D keypoints, x/y/score",
)

# --- MediaPipe BlazePose, 33 landmarks ----------------------------------------------------------
# POSE_CONNECTIONS is disconnected (face, mouth, body) and has cycles; the tree below
# links face and body through the nose like COCO does, and keeps the remaining
# connections as extra (drawing-only) edges.
MEDIAPIPE33 = SkeletonLayout(
    name="mediapipe33",
    joint_names=("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
                 "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
                 "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
                 "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb",
                 "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                 "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index"),
    parents=_parents_from_inward(33, 0, [
        (1, 0), (2, 1), (3, 2), (7, 3), (4, 0), (5, 4), (6, 5), (8, 6), (9, 0), (10, 9),
        (11, 0), (12, 0), (13, 11), (15, 13), (17, 15), (19, 15), (21, 15), (14, 12), (16, 14),
        (18, 16), (20, 16), (22, 16), (23, 11), (24, 12), (25, 23), (27, 25), (29, 27), (31, 27),
        (26, 24), (28, 26), (30, 28), (32, 28)]),
    center=0,
    extra_edges=((11, 12), (17, 19), (18, 20), (23, 24), (29, 31), (30, 32), (9, 10)),
    description="MediaPipe BlazePose 33 landmarks, x/y/z or x/y/visibility",
)

# --- Hand-21 (MMPose / MediaPipe hands) ---------------------------------------------------------
HAND21 = SkeletonLayout(
    name="hand21",
    joint_names=("wrist",) + tuple(f"{finger}_{part}" for finger in ("thumb", "index", "middle", "ring", "pinky")
                                   for part in ("1", "2", "3", "4")),
    parents=(0,) + tuple(0 if k % 4 == 0 else 1 + k - 1 for k in range(20)),
    center=0,
    description="21 hand keypoints, wrist-rooted finger chains",
)

_LAYOUTS: Dict[str, SkeletonLayout] = {
    layout.name: layout for layout in (NTU25, NWUCLA20, COCO17, OPENPOSE18, MEDIAPIPE33, HAND21)
}


def list_layouts() -> List[str]:
    return sorted(_LAYOUTS)


def get_layout(name) -> SkeletonLayout:
    """Returns a registered layout by name (a layout instance passes through)."""
    if isinstance(name, SkeletonLayout):
        return name
    if name not in _LAYOUTS:
        raise ValueError(f"Unknown skeleton layout '{name}'. Known layouts: {', '.join(list_layouts())}")
    return _LAYOUTS[name]


# --- adjacency builders --------------------------------------------------------------------------

def edges_to_matrix(edges: Sequence[Tuple[int, int]], num_joints: int) -> np.ndarray:
    """Raw link matrix of the references: pair ``(i, j)`` puts a 1 at row ``j``, column ``i``."""
    matrix = np.zeros((num_joints, num_joints), dtype=np.float32)
    for i, j in edges:
        matrix[j, i] = 1.0
    return matrix


def normalize_columns(matrix: np.ndarray) -> np.ndarray:
    """Divides every column by its sum; all-zero columns stay zero ("normalize_digraph")."""
    column_sums = matrix.sum(axis=0)
    scale = np.where(column_sums > 0, 1.0 / np.where(column_sums > 0, column_sums, 1.0), 0.0)
    return (matrix * scale[None, :]).astype(np.float32)


def spatial_adjacency(layout="ntu25", variant: Optional[str] = None, orientation: str = "target_row") -> np.ndarray:
    """The ``(3, V, V)`` spatial-partition stack ``[I, norm(inward), norm(outward)]``.

    Args:
        layout: layout name or instance.
        variant: parent-list variant (``None``: main tree; ``"pyskl"`` for ST-GCN++ NTU).
        orientation: ``"target_row"`` returns the references' matrices as built
            (what CTR-GCN reads as ``out[u] = sum_v A[u, v] h[v]``); ``"source_row"``
            returns their transpose, so that code aggregating as
            ``out[u] = sum_v A[u, v] h[v]`` reproduces a source-row reference
            (EfficientGCN, ST-GCN++ read ``out[w] = sum_v h[v] A[v, w]``).
    """
    layout = get_layout(layout)
    num_joints = layout.num_joints
    identity = np.eye(num_joints, dtype=np.float32)
    inward = normalize_columns(edges_to_matrix(layout.inward_edges(variant), num_joints))
    outward = normalize_columns(edges_to_matrix(layout.outward_edges(variant), num_joints))
    stack = np.stack([identity, inward, outward]).astype(np.float32)
    return _orient(stack, orientation)


def hop_distance(layout="ntu25", variant: Optional[str] = None, max_hop: int = 1,
                 extra_edges: bool = False) -> np.ndarray:
    """``(V, V)`` hop distances over the undirected tree (``np.inf`` beyond ``max_hop``)."""
    layout = get_layout(layout)
    num_joints = layout.num_joints
    links = np.eye(num_joints, dtype=np.int64)
    edges = layout.inward_edges(variant) + (list(layout.extra_edges) if extra_edges else [])
    for i, j in edges:
        links[i, j] = links[j, i] = 1
    distance = np.full((num_joints, num_joints), np.inf)
    reach = [np.linalg.matrix_power(links, d) > 0 for d in range(max_hop + 1)]
    for d in range(max_hop, -1, -1):
        distance[reach[d]] = d
    return distance


def k_hop_adjacency(layout="ntu25", num_hops: int = 3, max_hop: Optional[int] = None,
                    variant: Optional[str] = None, orientation: str = "target_row") -> np.ndarray:
    """``(num_hops, V, V)`` distance-partition stack (EfficientGCN style, MODEL_SPEC §5.2).

    All pairs within ``max_hop`` hops are linked, each column is normalised by its
    count, and slice ``k`` keeps the entries at exactly ``k`` hops. With
    ``max_hop=10, num_hops=3`` this is EfficientGCN's graph (normalised by the
    10-hop neighbourhood, not the 3-hop one).
    """
    max_hop = num_hops - 1 if max_hop is None else max_hop
    distance = hop_distance(layout, variant, max_hop)
    reachable = (distance <= max_hop).astype(np.float32)
    normalized = normalize_columns(reachable)
    stack = np.stack([np.where(distance == k, normalized, 0.0) for k in range(num_hops)]).astype(np.float32)
    return _orient(stack, orientation)


def _orient(stack: np.ndarray, orientation: str) -> np.ndarray:
    if orientation == "target_row":
        return stack
    if orientation == "source_row":
        return np.ascontiguousarray(np.swapaxes(stack, -1, -2))
    raise ValueError(f"orientation must be 'target_row' or 'source_row', got '{orientation}'")
