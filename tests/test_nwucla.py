import json

import numpy as np
import pytest

from conftest import shared_path
from data_tools import nwucla
from data_tools.prepared import PreparedSplit


def test_nwucla_protocol_split(tmp_path):
    source = shared_path("data", "nw_ucla")
    nwucla.convert(source, str(tmp_path))
    train, val = PreparedSplit(str(tmp_path), "train"), PreparedSplit(str(tmp_path), "val")
    assert (len(train), len(val)) == (1020, 464)
    assert train.meta["layout"] == "nwucla20" and train.meta["num_classes"] == 10
    assert all(name.endswith("v03") for name in val.names)
    assert set(np.unique(val.labels)) == set(range(10))
    i = val.names.index("a01_s01_e00_v03")
    raw = np.asarray(json.load(open(f"{source}/all_sqe/a01_s01_e00_v03.json"))["skeletons"], np.float32)
    n = val.num_frames[i]
    assert n == len(raw)
    np.testing.assert_allclose(val.data[i, 0, :n], raw - raw[0, 1], atol=1e-6)


def test_bad_clip_names_the_file(tmp_path):
    bad = tmp_path / "a01_s01_e00_v01.json"
    bad.write_text('{"file_name": "a01_s01_e00_v01", "skeletons": [[[1, 2]]], "label": 1}')
    with pytest.raises(nwucla.NWUCLAError, match="a01_s01_e00_v01.json"):
        nwucla.read_clip(str(bad))
    with pytest.raises(nwucla.NWUCLAError, match="no NW-UCLA"):
        nwucla.convert(str(tmp_path / "empty"), str(tmp_path / "out"))
