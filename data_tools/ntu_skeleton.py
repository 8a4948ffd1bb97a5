"""One raw NTU RGB+D ``.skeleton`` file -> the official denoised, centred joints (MODEL_SPEC §7.1-7.5).

This module is the per-sample half of ``data_tools.ntu`` (which adds splits, workers
and writing). It reproduces the official three-stage scripts (``get_raw_skes_data``,
``get_raw_denoised_data``, ``seq_transformation``) bit for bit, including their quirks:

* frames with no body are dropped; each body ID gets an ``interval`` that starts at its
  first non-empty frame and grows by one per appearance (MODEL_SPEC §9.14);
* with several body IDs: length filter (<= 11 frames dropped), spread filter
  (0.8 / 0.69754, with the motion update), motion ranking, greedy two-actor assembly,
  then removal of the frames where no kept actor is present;
* centring on joint 2 of actor 1 in its first present frame; frames where an actor
  was absent are reset to zero (two-actor samples only, as in the official script).

Parsing is vectorised: one Python step per frame and body (header lines), while the
25 joint lines of every body are decoded by numpy (see ``_decode_numbers``). Any file
that cannot be read this way raises ``NTUSkeletonError`` naming the file and line.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

NUM_JOINTS = 25
# Official denoising thresholds (MODEL_SPEC §7.4).
NOISE_LENGTH_THRESHOLD = 11
NOISE_SPREAD_THRESHOLD_1 = 0.8
NOISE_SPREAD_THRESHOLD_2 = 0.69754


class NTUSkeletonError(ValueError):
    """A raw ``.skeleton`` file that cannot be used; the message reads ``<file>:<line>: <problem>``."""

    def __init__(self, path: str, line: Optional[int], problem: str):
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")


@dataclasses.dataclass
class RawSkeleton:
    """What step 1 of the official pipeline keeps of one file.

    Attributes:
        body_ids: body IDs in order of first appearance.
        joints: per body, ``(n_i, 25, 3)`` float32 camera-space x, y, z of its n_i appearances.
        first_frame: per body, the index (among non-empty frames) of its first appearance.
        num_valid_frames: number of frames with at least one body.
    """

    body_ids: List[bytes]
    joints: List[np.ndarray]
    first_frame: List[int]
    num_valid_frames: int


# --- parsing -------------------------------------------------------------------------------------

# --- vectorised decimal decoding --------------------------------------------------------------
#
# Every coordinate token is split at its dot into an integer run (<= 8 digits) and a fraction
# run (<= 16 digits). A run of up to 8 ASCII digits is read as one little-endian uint64 and
# turned into its value with a few multiply/shift steps on all tokens at once ("SWAR", as in
# simdjson's parse_eight_digits). mantissa = int * 10**f + fraction is an exact integer below
# 2**53 (at most 15 digits), and one division by the exact double 10**f gives the correctly
# rounded double: the same value float(token) gives, hence the same float32 as the official
# np.array(tokens, dtype=np.float32). Anything else (exponents, odd spacing) goes to float().

_U64 = np.uint64
_BYTES_01 = _U64(0x0101010101010101)
_BYTES_06 = _U64(0x0606060606060606)
_BYTES_30 = _U64(0x3030303030303030)
_BYTES_2E = _U64(0x2E2E2E2E2E2E2E2E)             # '.'
_BYTES_80 = _U64(0x8080808080808080)
_BYTES_F0 = _U64(0xF0F0F0F0F0F0F0F0)
_PAIR_MASK = _U64(0x000000FF000000FF)
_PAIR_MUL_1 = _U64(100 + (1000000 << 32))
_PAIR_MUL_2 = _U64(1 + (10000 << 32))
# _KEEP_LAST[n]: mask of the last n bytes (highest addresses) of a little-endian word.
_KEEP_LAST = np.array([0] + [((1 << (8 * n)) - 1) << (8 * (8 - n)) for n in range(1, 9)], np.uint64)
_POW10_INT = np.array([10 ** k for k in range(17)], np.uint64)
_POW10_FLOAT = 10.0 ** np.arange(17)
_FRONT_PAD = 8                 # bytes before the data, so a word ending at position 0 can be read
_BACK_PAD = 16                 # bytes after it, so the dot search never reads past the buffer


def _first_zero_byte(words: np.ndarray) -> np.ndarray:
    """Index (0..7) of the first zero byte of each little-endian word, 8 if none."""
    flags = (words - _BYTES_01) & ~words & _BYTES_80
    lowest = flags & (~flags + _U64(1))                       # isolates the first flagged byte
    _, exponent = np.frexp(lowest.astype(np.float64))         # exact: a power of two
    return np.where(flags != 0, (exponent - 8) // 8, 8)


def _digit_runs(words: np.ndarray, run_ends: np.ndarray, run_lengths: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Values of digit runs ``[end - length, end)`` with 0 <= length <= 8, and whether all are digits."""
    chunk = words[run_ends + (_FRONT_PAD - 8)]
    keep = _KEEP_LAST[np.clip(run_lengths, 0, 8)]
    chunk = (chunk & keep) | (_BYTES_30 & ~keep)              # bytes before the run read as '0'
    all_digits = ((chunk & _BYTES_F0) == _BYTES_30) & (((chunk + _BYTES_06) & _BYTES_F0) == _BYTES_30)
    value = chunk - _BYTES_30
    value = value * _U64(10) + (value >> _U64(8))
    value = (((value & _PAIR_MASK) * _PAIR_MUL_1) + (((value >> _U64(16)) & _PAIR_MASK) * _PAIR_MUL_2)) >> _U64(32)
    return value, all_digits


def _decode_tokens(data: bytes, starts: np.ndarray, ends: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Decodes the tokens ``data[starts:ends]`` of the form ``[-]digits[.digits]``.

    Returns ``values (K,)`` float64 and ``decoded (K,)`` bool; where ``decoded`` is False the
    value is undefined and the caller uses ``float`` instead.
    """
    padded = b"0" * _FRONT_PAD + data + b" " * _BACK_PAD
    # Unaligned little-endian uint64 starting at every byte (a view, no copy).
    words = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    characters = np.frombuffer(padded, np.uint8)
    # Kinect camera coordinates are metres: one integer digit, a dot, then the fraction. That
    # shape takes a few operations; every other token goes through the general decoder.
    negative = characters[starts + _FRONT_PAD] == 45
    digits_start = starts + negative + _FRONT_PAD
    int_digit = characters[digits_start] - np.uint8(48)
    fraction_length = ends + _FRONT_PAD - digits_start - 2
    decoded = (int_digit <= 9) & (characters[digits_start + 1] == 46) & (fraction_length >= 0) & \
        (fraction_length <= 14)
    fraction_length = np.clip(fraction_length, 0, 14)
    values = _fraction_mantissa(words, ends, fraction_length, decoded)
    values += int_digit * _POW10_INT[fraction_length]
    values = values.astype(np.float64) / _POW10_FLOAT[fraction_length]
    values = np.where(negative, -values, values)
    others = np.flatnonzero(~decoded)
    if len(others) > 64:          # a few odd tokens are cheaper for float() than for numpy
        values[others], decoded[others] = _decode_general(words, characters, starts[others], ends[others])
    return values, decoded


def _fraction_mantissa(words: np.ndarray, ends: np.ndarray, fraction_length: np.ndarray,
                       decoded: np.ndarray) -> np.ndarray:
    """Integer value of the last ``fraction_length`` (0..16) digits before ``ends``; clears ``decoded``
    where they are not all digits."""
    low_length = np.minimum(fraction_length, 8)
    fraction, low_ok = _digit_runs(words, ends, low_length)
    decoded &= low_ok
    long_fraction = np.flatnonzero(fraction_length > 8)
    if len(long_fraction):
        # Fractions of 9-16 digits (|x| < 0.01 written in full): their first digits, for those tokens only.
        high, high_ok = _digit_runs(words, ends[long_fraction] - 8, fraction_length[long_fraction] - 8)
        fraction[long_fraction] += high * _U64(10 ** 8)
        decoded[long_fraction] &= high_ok
    return fraction


def _decode_general(words: np.ndarray, characters: np.ndarray, starts: np.ndarray,
                    ends: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``_decode_tokens`` for any integer-part length (<= 8 digits) and tokens without a dot."""
    negative = characters[starts + _FRONT_PAD] == 45
    digits_start = starts + negative
    length = ends - digits_start
    first_word = words[digits_start + _FRONT_PAD] ^ _BYTES_2E
    second_word = words[digits_start + (_FRONT_PAD + 8)] ^ _BYTES_2E
    dot = _first_zero_byte(first_word)
    dot = np.where(dot < 8, dot, 8 + _first_zero_byte(second_word))
    has_dot = dot < length
    int_length = np.where(has_dot, dot, length)
    fraction_length = np.where(has_dot, length - dot - 1, 0)
    decoded = (int_length <= 8) & (fraction_length <= 16) & (int_length + fraction_length >= 1) & \
        (int_length + fraction_length <= 15)
    fraction_length = np.clip(fraction_length, 0, 16)
    int_value, int_ok = _digit_runs(words, digits_start + int_length, int_length)
    decoded &= int_ok
    mantissa = int_value * _POW10_INT[fraction_length] + _fraction_mantissa(words, ends, fraction_length, decoded)
    values = mantissa.astype(np.float64) / _POW10_FLOAT[fraction_length]
    return np.where(negative, -values, values), decoded


class _Lines:
    """Line access into the file's bytes, with 1-based line numbers for messages."""

    def __init__(self, data: bytes, path: str):
        self.data = data
        self.path = path
        self.buffer = np.frombuffer(data, np.uint8)
        # One pass finds the line breaks and every other separator the coordinate parser needs.
        self.separators = np.flatnonzero(self.buffer <= 32)
        newlines = self.separators[self.buffer[self.separators] == 10]
        self.start_array = np.concatenate([[0], newlines + 1])
        self.end_array = np.concatenate([newlines, [len(data)]])
        self.count = len(self.start_array)
        if self.count > 1 and self.start_array[-1] == len(data):
            self.count -= 1           # a final newline does not open a new line

    def text(self, index: int) -> bytes:
        return self.data[int(self.start_array[index]):int(self.end_array[index])]

    def integer(self, index: int, what: str) -> int:
        if index >= self.count:
            raise NTUSkeletonError(self.path, index + 1, f"file ends before the {what} (truncated file)")
        token = self.text(index).strip()
        if not token.isdigit():
            shown = token[:40].decode("latin-1")
            raise NTUSkeletonError(self.path, index + 1, f"expected the {what} (an integer), found '{shown}'")
        return int(token)


@dataclasses.dataclass
class _Blocks:
    """The body blocks of a file in reading order (the output of a walk over its lines)."""

    joint_lines: np.ndarray        # (B,) line index of the first joint line of each block
    valid_frame: np.ndarray        # (B,) index of the block's frame among the non-empty frames
    body: np.ndarray               # (B,) index into body_ids
    body_ids: List[bytes]          # in order of first appearance
    num_valid_frames: int


def _walk_vectorised(lines: _Lines, num_frames: int) -> Optional[_Blocks]:
    """Finds the frame and body structure with numpy when the file has the regular layout.

    Guesses the body-count lines (single digit) and accepts the guess only if they chain
    exactly (each frame = 1 + 27 * bodies lines), every joint-count line reads 25 and every
    header has a body ID; otherwise returns None and the line-by-line walk decides (and
    reports the precise problem).
    """
    if num_frames <= 0:
        return None
    count = lines.count
    starts, ends = lines.start_array[:count], lines.end_array[:count]
    buffer = lines.buffer
    padded_first = np.concatenate([buffer, np.zeros(2, np.uint8)])
    lengths = ends - starts
    lengths = lengths - (padded_first[np.maximum(ends - 1, 0)] == 13) * (lengths > 0)   # CRLF
    first_byte = padded_first[starts]
    single_digit = (lengths == 1) & (first_byte - np.uint8(48) <= 9)
    single_digit[0] = False
    candidates = np.flatnonzero(single_digit)[:num_frames]
    if len(candidates) < num_frames:
        return None
    bodies = (first_byte[candidates] - np.uint8(48)).astype(np.int64)
    expected = np.empty(num_frames, np.int64)
    expected[0] = 1
    np.cumsum(1 + (2 + NUM_JOINTS) * bodies[:-1], out=expected[1:]) if num_frames > 1 else None
    if num_frames > 1:
        expected[1:] += 1
    if not np.array_equal(candidates, expected) or expected[-1] + 1 + (2 + NUM_JOINTS) * bodies[-1] > count:
        return None
    num_blocks = int(bodies.sum())
    if num_blocks == 0:
        return None
    block_frame = np.repeat(np.arange(num_frames), bodies)
    within_frame = np.arange(num_blocks) - np.repeat(np.cumsum(bodies) - bodies, bodies)
    headers = candidates[block_frame] + 1 + (2 + NUM_JOINTS) * within_frame
    joint_counts = headers + 1
    if not ((lengths[joint_counts] == 2) & (first_byte[joint_counts] == 50) &
            (padded_first[starts[joint_counts] + 1] == 53)).all():
        return None
    data = lines.data
    header_tokens = [data[s:e].split(None, 1) for s, e in zip(starts[headers].tolist(), ends[headers].tolist())]
    if not all(header_tokens):
        return None
    body_of: Dict[bytes, int] = {}
    body = np.array([body_of.setdefault(tokens[0], len(body_of)) for tokens in header_tokens], np.int64)
    valid_frame_of_frame = np.cumsum(bodies > 0) - 1
    return _Blocks(headers + 2, valid_frame_of_frame[block_frame], body, list(body_of),
                   int(valid_frame_of_frame[-1]) + 1)


def _walk_lines(lines: _Lines, num_frames: int, path: str) -> _Blocks:
    """The official line-by-line reading, with a precise error for every kind of bad file."""
    data = lines.data
    starts, ends, num_lines = lines.start_array.tolist(), lines.end_array.tolist(), lines.count
    cursor = 1
    valid_frame = -1
    body_of: Dict[bytes, int] = {}
    joint_lines: List[int] = []
    block_valid_frame: List[int] = []
    block_body: List[int] = []
    for frame in range(num_frames):
        num_bodies = lines.integer(cursor, f"body count of frame {frame + 1}")
        cursor += 1
        if num_bodies == 0:
            continue
        valid_frame += 1
        for _ in range(num_bodies):
            if cursor + 2 + NUM_JOINTS > num_lines:
                raise NTUSkeletonError(path, num_lines, f"file ends inside frame {frame + 1} of {num_frames} "
                                                        "(truncated file)")
            num_joints = lines.integer(cursor + 1, f"joint count of a body in frame {frame + 1}")
            if num_joints != NUM_JOINTS:
                raise NTUSkeletonError(path, cursor + 2, f"body has {num_joints} joints, expected {NUM_JOINTS}")
            header = data[starts[cursor]:ends[cursor]].split(None, 1)
            if not header:
                raise NTUSkeletonError(path, cursor + 1, f"empty body header line in frame {frame + 1}")
            block_body.append(body_of.setdefault(header[0], len(body_of)))
            block_valid_frame.append(valid_frame)
            joint_lines.append(cursor + 2)
            cursor += 2 + NUM_JOINTS
    return _Blocks(np.asarray(joint_lines, np.int64), np.asarray(block_valid_frame, np.int64),
                   np.asarray(block_body, np.int64), list(body_of), valid_frame + 1)


def parse_skeleton(data: bytes, path: str = "<bytes>") -> RawSkeleton:
    """Reads a raw ``.skeleton`` text (LF or CRLF) into bodies grouped by ID (official step 1).

    Raises:
        NTUSkeletonError: truncated file, a joint count other than 25, a coordinate that is not a
        number or is NaN/infinite, or no body in any frame.
    """
    lines = _Lines(data, path)
    num_frames = lines.integer(0, "frame count")
    blocks = _walk_vectorised(lines, num_frames) or _walk_lines(lines, num_frames, path)
    if blocks.num_valid_frames == 0:
        raise NTUSkeletonError(path, None, f"no body in any of its {num_frames} frames")
    coordinates = _read_coordinates(lines, blocks.joint_lines, path)
    # Group the blocks by body; a stable sort keeps each body's blocks in reading order.
    order = np.argsort(blocks.body, kind="stable")
    appearances = np.bincount(blocks.body, minlength=len(blocks.body_ids))
    first_block = np.concatenate([[0], np.cumsum(appearances)[:-1]])
    first_frame = blocks.valid_frame[order[first_block]]
    # The official interval grows by one per appearance, whatever the frame (MODEL_SPEC §9.14);
    # it can only outgrow the sequence when one ID appears twice in a frame (the official script fails).
    overflow = np.flatnonzero(first_frame + appearances > blocks.num_valid_frames)
    if len(overflow):
        body_id = blocks.body_ids[overflow[0]].decode("latin-1")
        raise NTUSkeletonError(path, None, f"body {body_id} appears more often than there are frames after its first")
    grouped = coordinates[order]
    joints = [grouped[start:start + n] for start, n in zip(first_block.tolist(), appearances.tolist())]
    return RawSkeleton(blocks.body_ids, joints, first_frame.tolist(), blocks.num_valid_frames)


_SPLIT_WHITESPACE = np.zeros(256, bool)
_SPLIT_WHITESPACE[[9, 10, 11, 12, 13, 32]] = True


def _read_coordinates(lines: _Lines, block_lines: np.ndarray, path: str) -> np.ndarray:
    """x, y, z (the first three tokens) of every joint line: ``(num_blocks, 25, 3)`` float32."""
    joint_lines = (block_lines[:, None] + np.arange(NUM_JOINTS)).ravel()
    line_starts = lines.start_array[joint_lines]
    line_ends = lines.end_array[joint_lines]
    # Fast path for the real layout: the first three tokens each followed by one separator.
    separators = lines.separators
    first = np.minimum(np.searchsorted(separators, line_starts), len(separators) - 3)
    token_ends = np.empty((len(joint_lines), 3), np.int64)
    token_starts = np.empty_like(token_ends)
    token_starts[:, 0] = line_starts
    for column in range(3):
        token_ends[:, column] = separators[first + column] if len(separators) >= 3 else line_starts
    token_starts[:, 1:] = token_ends[:, :2] + 1
    values, decoded = _decode_tokens(lines.data, token_starts.ravel(), token_ends.ravel())
    values = values.reshape(-1, 3)
    decoded = decoded.reshape(-1, 3)
    # Separators must be what str.split() splits on (not, say, a NUL inside a token).
    whitespace = _SPLIT_WHITESPACE[lines.buffer[np.minimum(token_ends, len(lines.buffer) - 1)]]
    regular = decoded[:, 0] & decoded[:, 1] & decoded[:, 2] & whitespace[:, 0] & whitespace[:, 1] & \
        whitespace[:, 2] & (token_ends[:, 2] <= line_ends) & (token_ends[:, 0] >= line_starts)
    for k in np.flatnonzero(~regular):
        # Other spacing, exponents (real files have e.g. -9.276937E-05), bad tokens:
        # split like the official script and let Python parse the numbers.
        tokens = lines.data[line_starts[k]:line_ends[k]].split()
        line = int(joint_lines[k]) + 1
        if len(tokens) < 3:
            raise NTUSkeletonError(path, line, f"joint line has {len(tokens)} values, expected at least x, y, z")
        for c in range(3):
            try:
                values[k, c] = float(tokens[c])
            except ValueError:
                shown = tokens[c][:40].decode("latin-1")
                raise NTUSkeletonError(path, line, f"coordinate '{shown}' is not a number") from None
        if not np.isfinite(values[k]).all():       # only float() can produce NaN or infinity
            raise NTUSkeletonError(path, line, "NaN or infinite coordinate")
    # float -> float32 exactly like the official np.array(tokens, dtype=np.float32).
    return values.astype(np.float32).reshape(len(block_lines), NUM_JOINTS, 3)


def read_skeleton_file(path: str) -> RawSkeleton:
    """``parse_skeleton`` of a file on disk (errors name the file)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise NTUSkeletonError(path, None, f"cannot be read ({e.strerror or e})") from None
    return parse_skeleton(data, path)


# --- denoising (official step 2) -----------------------------------------------------------------

def _motion(joints: np.ndarray) -> np.float32:
    """Sum over x, y, z of the variance over all frames and joints, float32 as in the official script."""
    return np.sum(np.var(joints.reshape(-1, 3), axis=0))


def _spread_valid_frames(joints: np.ndarray) -> np.ndarray:
    """Frames whose x extent is at most 0.8 times the y extent (official ``get_valid_frames_by_spread``)."""
    x_extent = joints[:, :, 0].max(axis=1) - joints[:, :, 0].min(axis=1)
    y_extent = joints[:, :, 1].max(axis=1) - joints[:, :, 1].min(axis=1)
    # The official script compares a float32 extent with 0.8 * float32 under NumPy 1.x promotion (float64).
    return np.flatnonzero(x_extent.astype(np.float64) <= NOISE_SPREAD_THRESHOLD_1 * y_extent.astype(np.float64))


def _select_bodies(raw: RawSkeleton) -> List[int]:
    """Official ``denoising_bodies_data``: indices of the kept bodies, the main actor first."""
    kept = [b for b in range(len(raw.body_ids)) if len(raw.joints[b]) > NOISE_LENGTH_THRESHOLD]
    if len(kept) == 1:
        return kept
    motion = {b: _motion(raw.joints[b]) for b in kept}
    for b in list(kept):
        if len(kept) == 1:
            break
        valid = _spread_valid_frames(raw.joints[b])
        num_frames = len(raw.joints[b])
        num_noisy = num_frames - len(valid)
        if num_noisy == 0:
            continue
        if num_noisy / float(num_frames) >= NOISE_SPREAD_THRESHOLD_2:
            kept.remove(b)
        else:
            motion[b] = min(motion[b], _motion(raw.joints[b][valid]))
    if len(kept) == 1:
        return kept
    # sorted() is stable: equal motions keep the order of first appearance, as in the official script.
    return sorted(kept, key=lambda b: motion[b], reverse=True)


def denoise(raw: RawSkeleton, path: str = "<bytes>") -> np.ndarray:
    """Official step 2: ``(T, 75)`` for one actor or ``(T, 150)`` for two, float32, not yet centred."""
    num_frames = raw.num_valid_frames
    if len(raw.body_ids) == 1:
        joints = np.zeros((num_frames, 75), np.float32)
        start = raw.first_frame[0]
        joints[start:start + len(raw.joints[0])] = raw.joints[0].reshape(-1, 75)
        return joints
    order = _select_bodies(raw)
    if not order:
        raise NTUSkeletonError(path, None, f"every one of its {len(raw.body_ids)} bodies lasts "
                                           f"{NOISE_LENGTH_THRESHOLD} frames or less (nothing left after denoising)")
    if len(order) == 1:
        body = order[0]
        joints = np.zeros((num_frames, 75), np.float32)
        start = raw.first_frame[body]
        joints[start:start + len(raw.joints[body])] = raw.joints[body].reshape(-1, 75)
    else:
        joints = np.zeros((num_frames, 150), np.float32)
        main = order[0]
        start1 = raw.first_frame[main]
        end1 = start1 + len(raw.joints[main]) - 1
        joints[start1:end1 + 1, :75] = raw.joints[main].reshape(-1, 75)
        start2, end2 = 0, 0            # the official "virtual" initial interval of actor 2
        for body in order[1:]:
            start = raw.first_frame[body]
            end = start + len(raw.joints[body]) - 1
            # Inclusive intervals; touching in one frame counts as no overlap (official test).
            if min(end1, end) - max(start1, start) <= 0:
                joints[start:end + 1, :75] = raw.joints[body].reshape(-1, 75)
                start1, end1 = min(start, start1), max(end, end1)
            elif min(end2, end) - max(start2, start) <= 0:
                joints[start:end + 1, 75:] = raw.joints[body].reshape(-1, 75)
                start2, end2 = min(start, start2), max(end, end2)
    # Several body IDs in the file: keep only frames where some kept actor is present (sum test as official).
    return joints[joints.sum(axis=1) != 0]


# --- centring (official step 3.1) ----------------------------------------------------------------

def centre(joints: np.ndarray) -> np.ndarray:
    """Subtracts joint 2 of actor 1 in its first present frame; keeps absent frames at zero.

    ``joints``: ``(T, 75)`` or ``(T, 150)`` float32, returned as a new array.
    """
    two_actors = joints.shape[1] == 150
    if two_actors:
        missing_1 = joints[:, :75].sum(axis=1) == 0
        missing_2 = joints[:, 75:].sum(axis=1) == 0
    present = np.flatnonzero(np.any(joints[:, :75] != 0, axis=1))
    origin = joints[present[0], 3:6].copy()
    centred = joints - np.tile(origin, joints.shape[1] // 3)
    if two_actors:
        centred[missing_1, :75] = 0
        centred[missing_2, 75:] = 0
    return centred


def process_skeleton(data: bytes, path: str = "<bytes>") -> np.ndarray:
    """Raw file bytes -> centred ``(T, 75 | 150)`` float32, the official per-sample result before padding."""
    joints = denoise(parse_skeleton(data, path), path)
    if len(joints) == 0:
        raise NTUSkeletonError(path, None, "no frame left after denoising")
    joints = centre(joints)
    if not np.isfinite(joints).all():
        # A coordinate such as "1e999" or "nan" parses as a float; refuse it here rather than downstream.
        raise NTUSkeletonError(path, None, "non-finite joint coordinates (NaN or Inf)")
    return joints


def to_persons(joints: np.ndarray, duplicate_lone_actor: bool = False) -> np.ndarray:
    """``(T, 75 | 150)`` -> ``(2, T, 25, 3)``: the second person is zero (NTU-60 script) or, with
    ``duplicate_lone_actor``, a copy of the first (NTU-120 script)."""
    num_frames = len(joints)
    persons = np.zeros((2, num_frames, NUM_JOINTS, 3), np.float32)
    actors = joints.reshape(num_frames, -1, NUM_JOINTS, 3).transpose(1, 0, 2, 3)
    persons[:len(actors)] = actors
    if len(actors) == 1 and duplicate_lone_actor:
        persons[1] = actors[0]
    return persons


def read_sample(path: str, dataset: str = "ntu60") -> np.ndarray:
    """One raw file -> centred ``(2, T, 25, 3)`` float32 (T = official frame count, no padding)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise NTUSkeletonError(path, None, f"cannot be read ({e.strerror or e})") from None
    return to_persons(process_skeleton(data, path),
                      duplicate_lone_actor=dataset == "ntu120")
