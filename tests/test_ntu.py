"""NTU RGB+D raw converter: exactness on the 60 shared files, splits, bad input, fuzzing, CLI."""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO_ROOT, shared_path
from data_tools import ntu, ntu_skeleton
from data_tools.ntu_skeleton import NTUSkeletonError
from data_tools.prepared import PreparedSplit


def skeleton_text(frames, newline="\n", joint_count=25):
    """Raw ``.skeleton`` text from ``frames``: a list (per frame) of ``(body_id, joints (25, 3))``."""
    out = [str(len(frames))]
    for bodies in frames:
        out.append(str(len(bodies)))
        for body_id, joints in bodies:
            out.append(f"{body_id} 0 1 1 1 1 0 0.1 0.2 2")
            out.append(str(joint_count))
            for x, y, z in joints:
                out.append(f"{x:.7g} {y:.7g} {z:.7g} 250.1 180.2 960.3 540.4 0 0 0 1 2")
    return newline.join(out) + newline


def standing_body(rng, frames, offset=0.0):
    """``(frames, 25, 3)`` plausible joints (taller than wide, so the spread filter keeps them)."""
    base = np.stack([rng.uniform(-0.2, 0.2, 25) + offset, np.linspace(-0.8, 0.8, 25), rng.uniform(2.5, 3.5, 25)], 1)
    return base[None] + rng.normal(0, 0.02, (frames, 25, 3))


def write_file(folder, name, text):
    path = os.path.join(folder, f"{name}.skeleton")
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


def shared_raw():
    return shared_path("data", "ntu_raw")


def expected_persons():
    """The official output of the 60 shared files as ``(names, num_frames, (60, 2, 300, 25, 3))``."""
    expected = np.load(shared_path("data", "ntu_expected", "expected.npz"))
    joints = np.zeros((60, 300, 150), np.float32)
    joints[:, :expected["joints"].shape[1]] = expected["joints"]
    persons = joints.reshape(60, 300, 2, 25, 3).transpose(0, 2, 1, 3, 4)
    return list(expected["names"]), expected["num_frames"], persons


# --- exactness -----------------------------------------------------------------------------------

def test_all_60_shared_files_match_the_official_pipeline(tmp_path):
    names, num_frames, persons = expected_persons()
    report = ntu.convert([shared_raw()], str(tmp_path), "ntu60", workers=1)
    assert report.num_prepared == 60 and not report.unreadable
    for benchmark, split in (("xsub", "train"), ("xview", "val")):     # all 60 are P001 (train), C001 (val)
        data = PreparedSplit(str(tmp_path / benchmark), split)
        assert data.names == names
        np.testing.assert_array_equal(data.num_frames, num_frames)
        np.testing.assert_array_equal(data.labels, np.arange(60))
        assert data.data.shape == (60, 2, 300, 25, 3) and data.data.dtype == np.float32
        np.testing.assert_allclose(data.data, persons, rtol=0, atol=1e-6)
        assert data.meta["layout"] == "ntu25" and data.meta["num_classes"] == 60
        assert data.meta["class_names"][0] == "drink water" and data.meta["class_names"][59] == \
            "walking apart from each other"
    empty = PreparedSplit(str(tmp_path / "xsub"), "val")
    assert empty.data.shape == (0, 2, 300, 25, 3) and empty.names == []


def test_crlf_files_give_identical_output(tmp_path):
    names, num_frames, persons = expected_persons()
    for i in (0, 25, 49, 55):                    # one actor, spurious second body, two actors
        with open(os.path.join(shared_raw(), f"{names[i]}.skeleton"), "rb") as f:
            crlf = f.read().replace(b"\n", b"\r\n")
        joints = ntu_skeleton.process_skeleton(crlf, names[i])
        assert len(joints) == num_frames[i]
        np.testing.assert_array_equal(ntu_skeleton.to_persons(joints), persons[i, :, :num_frames[i]])


def test_ntu120_duplicates_a_lone_actor_and_read_sample(tmp_path):
    names, num_frames, persons = expected_persons()
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in (0, 24, 49):                        # A001 alone, A025 alone after denoising, A050 two actors
        shutil.copy(os.path.join(shared_raw(), f"{names[i]}.skeleton"), raw)
    ntu.convert([str(raw)], str(tmp_path / "out"), "ntu120", workers=1)
    data = PreparedSplit(str(tmp_path / "out" / "xsub"), "train")
    assert data.meta["num_classes"] == 120 and data.meta["class_names"][119].startswith("finger-guessing")
    assert os.path.isdir(tmp_path / "out" / "xset") and not os.path.isdir(tmp_path / "out" / "xview")
    for row, i in enumerate((0, 24)):
        np.testing.assert_array_equal(data.data[row, 1], persons[i, 0])
    np.testing.assert_array_equal(data.data[2], persons[49])
    sample = ntu.read_sample(os.path.join(shared_raw(), f"{names[0]}.skeleton"))
    assert sample.shape == (2, num_frames[0], 25, 3)
    np.testing.assert_array_equal(sample, persons[0, :, :num_frames[0]])


# --- splits and order ----------------------------------------------------------------------------

def test_subset_order_missing_list_and_empty_split(tmp_path):
    rng = np.random.default_rng(0)
    raw = tmp_path / "raw"
    raw.mkdir()
    text = skeleton_text([[(7, j)] for j in standing_body(rng, 20)])
    names = ["S001C002P003R001A002", "S001C001P002R001A001", "S002C003P001R002A010", "S001C003P040R001A060",
             "S001C001P001R001A001", "S001C002P005R002A008",        # the last one is on the missing list
             "S018C001P001R001A061", "S001C001P001R001A000x"]      # not NTU-60; not an NTU name
    for name in names:
        write_file(raw, name, text)
    report = ntu.convert([str(raw)], str(tmp_path / "out"), "ntu60", workers=2)
    assert report.num_prepared == 5 and len(report.left_out) == 3
    xsub_train = PreparedSplit(str(tmp_path / "out" / "xsub"), "train")
    xsub_val = PreparedSplit(str(tmp_path / "out" / "xsub"), "val")
    # Official order: by the ID list (subjects 1, 2, 4, ... / 3, 6, ...), by name within a subject.
    assert xsub_train.names == ["S001C001P001R001A001", "S002C003P001R002A010", "S001C001P002R001A001"]
    assert xsub_val.names == ["S001C002P003R001A002", "S001C003P040R001A060"]
    np.testing.assert_array_equal(xsub_val.labels, [1, 59])
    xview_train = PreparedSplit(str(tmp_path / "out" / "xview"), "train")
    assert xview_train.names == ["S001C002P003R001A002", "S001C003P040R001A060", "S002C003P001R002A010"]
    skipped = open(tmp_path / "out" / "skipped.txt").read()
    assert "S001C002P005R002A008.skeleton: excluded" in skipped
    assert "S018C001P001R001A061.skeleton: not a sample of ntu60" in skipped
    assert "S001C001P001R001A000x.skeleton: file name" in skipped

    only_camera_1 = tmp_path / "c1"
    only_camera_1.mkdir()
    write_file(only_camera_1, "S001C001P001R001A001", text)
    ntu.convert([str(only_camera_1)], str(tmp_path / "out1"), "ntu60", benchmarks=["xview"], workers=1)
    empty = PreparedSplit(str(tmp_path / "out1" / "xview"), "train")
    assert empty.data.shape == (0, 2, 300, 25, 3) and len(empty.labels) == 0
    assert PreparedSplit(str(tmp_path / "out1" / "xview"), "val").names == ["S001C001P001R001A001"]


def test_official_xsub_and_xset_id_lists():
    attribute, train, val = ntu.benchmark_groups("ntu120", "xsub")
    assert attribute == "performer" and len(train) == 53 and len(val) == 53 and set(train) | set(val) == \
        set(range(1, 107))
    assert ntu.benchmark_groups("ntu60", "xsub")[1] == (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28,
                                                          31, 34, 35, 38)
    assert ntu.benchmark_groups("ntu120", "xset")[1] == tuple(range(2, 33, 2))
    with pytest.raises(ntu.NTUConversionError, match="unknown benchmark 'xfoo'"):
        ntu.benchmark_groups("ntu60", "xfoo")


# --- bad input -----------------------------------------------------------------------------------

def _bad_files(rng):
    """``{name: (text, expected message part, expected line or None)}`` for every kind of bad file."""
    body = standing_body(rng, 15)
    good = skeleton_text([[(5, j)] for j in body])
    lines = good.split("\n")
    truncated = "\n".join(lines[:40]) + "\n"
    wrong_joints = skeleton_text([[(5, j)] for j in body]).replace("\n25\n", "\n24\n", 1)
    non_numeric = lines.copy()
    non_numeric[33] = "0.1 abc 3.0 1 1 1 1 0 0 0 1 2"
    nan = lines.copy()
    nan[34] = "0.1 nan 3.0 1 1 1 1 0 0 0 1 2"
    no_bodies = "3\n0\n0\n0\n"
    short_bodies = skeleton_text([[(5, a), (6, b)] for a, b in zip(body[:5], body[:5] + 1)])
    return {
        "S001C001P001R001A001": (truncated, "truncated", 40),
        "S001C001P001R001A002": (wrong_joints, "24 joints, expected 25", 4),
        "S001C001P001R001A003": ("\n".join(non_numeric), "'abc' is not a number", 34),
        "S001C001P001R001A004": ("\n".join(nan), "NaN", 35),
        "S001C001P001R001A005": (no_bodies, "no body in any of its 3 frames", None),
        "S001C001P001R001A006": ("", "frame count", 1),
        "S001C001P001R001A007": (short_bodies, "11 frames or less", None),
    }


def test_every_kind_of_bad_file_is_reported_with_file_and_line(tmp_path):
    rng = np.random.default_rng(1)
    raw = tmp_path / "raw"
    raw.mkdir()
    bad = _bad_files(rng)
    for name, (text, message, line) in bad.items():
        path = write_file(raw, name, text)
        with pytest.raises(NTUSkeletonError, match=message) as error:
            ntu_skeleton.process_skeleton(text.encode(), path)
        assert error.value.line == line and str(error.value).startswith(path)
    write_file(raw, "S001C001P001R001A010", skeleton_text([[(5, j)] for j in standing_body(rng, 20)]))
    report = ntu.convert([str(raw)], str(tmp_path / "out"), "ntu60", workers=1)
    assert report.num_prepared == 1 and len(report.unreadable) == len(bad)
    skipped = open(tmp_path / "out" / "skipped.txt").read()
    for name, (_, message, line) in bad.items():
        where = f"{name}.skeleton:{line}: " if line else f"{name}.skeleton: "
        assert where in skipped and message in skipped.split(where)[1].split("\n")[0]
    assert "skipped 7" in ntu.format_report(report, str(tmp_path / "out"))
    assert PreparedSplit(str(tmp_path / "out" / "xsub"), "train").names == ["S001C001P001R001A010"]


def test_cli_fails_cleanly_when_nothing_is_usable(tmp_path):
    rng = np.random.default_rng(2)
    raw = tmp_path / "raw"
    raw.mkdir()
    text, _, _ = _bad_files(rng)["S001C001P001R001A001"]
    write_file(raw, "S001C001P001R001A001", text)
    command = [sys.executable, "-m", "data_tools.ntu", f"--raw_dir={raw}", f"--out_dir={tmp_path / 'out'}",
               "--workers=1", "--noprogress"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: none of the 1 ntu60 files could be used")
    assert "truncated" in open(tmp_path / "out" / "skipped.txt").read()
    assert not os.path.exists(tmp_path / "out" / "xsub" / "meta.json")
    assert not [n for n in os.listdir(tmp_path / "out" / "xsub")] if os.path.isdir(tmp_path / "out" / "xsub") else True

    missing = subprocess.run(command[:3] + [f"--raw_dir={tmp_path / 'nowhere'}", f"--out_dir={tmp_path / 'o2'}"],
                             cwd=REPO_ROOT, capture_output=True, text=True)
    assert missing.returncode != 0 and missing.stderr.strip().splitlines() == \
        [f"error: raw folder '{tmp_path / 'nowhere'}' does not exist"]


# --- fuzzing -------------------------------------------------------------------------------------

def _fuzz_sources():
    """Small real files (cut to their first frames, to keep each example fast) or generated ones."""
    raw = os.path.join(REPO_ROOT, "..", "shared", "data", "ntu_raw")
    sources = []
    for name in ("S001C001P001R001A001", "S001C001P001R001A025", "S001C001P001R001A050"):
        path = os.path.join(raw, f"{name}.skeleton")
        if os.path.isfile(path):
            with open(path, "rb") as f:
                lines = f.read().split(b"\n")
            sources.append(b"\n".join([b"20"] + lines[1:20 * 55]))
    if not sources:
        rng = np.random.default_rng(3)
        sources.append(skeleton_text([[(5, a), (6, b)] for a, b in zip(standing_body(rng, 20),
                                                                         standing_body(rng, 20, 1.0))]).encode())
    return sources


_SOURCES = _fuzz_sources()
_TOKENS = [b"", b" ", b"\n", b"\r\n", b"\t", b"0", b"1", b"2", b"25", b"24", b"-", b".", b"nan", b"inf", b"1e5",
           b"-0.5", b"abc", b"\x00", b"\xff", b"9" * 30, b"  ", b"0.", b".5"]


@st.composite
def mutated_files(draw):
    data = bytearray(draw(st.sampled_from(_SOURCES)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "line"]))
        position = draw(st.integers(0, len(data)))
        if kind == "delete":
            del data[position:position + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[position:position] = draw(st.sampled_from(_TOKENS))
        elif kind == "replace":
            data[position:position + draw(st.integers(1, 12))] = draw(st.sampled_from(_TOKENS))
        elif kind == "truncate":
            del data[position:]
        else:                                   # duplicate or drop a whole line
            lines = bytes(data).split(b"\n")
            index = draw(st.integers(0, max(len(lines) - 1, 0)))
            lines.insert(index, lines[index]) if draw(st.booleans()) else lines.pop(index)
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_files())
def test_fuzzed_files_parse_or_raise_the_documented_error(data):
    try:
        joints = ntu_skeleton.process_skeleton(data, "fuzz.skeleton")
    except NTUSkeletonError as e:
        assert str(e).startswith("fuzz.skeleton")
        return
    assert joints.dtype == np.float32 and joints.ndim == 2 and joints.shape[1] in (75, 150)
    assert len(joints) >= 1 and np.isfinite(joints).all()
    # The vectorised walk must agree with the line-by-line one whenever it accepts a file.
    lines = ntu_skeleton._Lines(data, "fuzz")
    fast = ntu_skeleton._walk_vectorised(lines, lines.integer(0, "frame count"))
    if fast is not None:
        slow = ntu_skeleton._walk_lines(lines, lines.integer(0, "frame count"), "fuzz")
        assert fast.body_ids == slow.body_ids and fast.num_valid_frames == slow.num_valid_frames
        for field in ("joint_lines", "valid_frame", "body"):
            np.testing.assert_array_equal(getattr(fast, field), getattr(slow, field))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: f"{v:.7g}"),
    st.floats(-1, 1, allow_nan=False).map(lambda v: f"{v:.9f}"),
    st.integers(-10 ** 8, 10 ** 8).map(str),
    st.text(alphabet="0123456789.-+eE", min_size=1, max_size=18)), min_size=3, max_size=40))
def test_vectorised_decoding_equals_python_float(tokens):
    data = " ".join(tokens).encode()
    starts = np.cumsum([0] + [len(t) + 1 for t in tokens[:-1]])
    ends = starts + np.array([len(t) for t in tokens])
    padded = b"0" * ntu_skeleton._FRONT_PAD + data + b" " * ntu_skeleton._BACK_PAD
    words = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    general = ntu_skeleton._decode_general(words, np.frombuffer(padded, np.uint8), starts, ends)
    for values, decoded in (ntu_skeleton._decode_tokens(data, starts, ends), general):
        for token, value, ok in zip(tokens, values, decoded):
            if ok:
                assert float(token) == value and np.signbit(float(token)) == np.signbit(value), token
    assert all(general[1][[i for i, t in enumerate(tokens) if re.fullmatch(r"-?\d{1,8}(\.\d{0,7})?", t)]])


def test_separators_inside_tokens_are_not_accepted():
    rng = np.random.default_rng(4)
    text = skeleton_text([[(5, j)] for j in standing_body(rng, 12)]).split("\n")
    text[5] = "0.5\x001.0 2.0 3.0 1 1 1 1 0 0 0 1 2"
    with pytest.raises(NTUSkeletonError, match=r"x.skeleton:6: coordinate '0.5.*' is not a number"):
        ntu_skeleton.process_skeleton("\n".join(text).encode(), "x.skeleton")
    text[5] = "0.5\t1.0  2.0\r"                      # odd but valid spacing: parsed like str.split()
    joints = ntu_skeleton.parse_skeleton("\n".join(text).encode()).joints[0]
    np.testing.assert_array_equal(joints[0, 1], np.float32([0.5, 1.0, 2.0]))
