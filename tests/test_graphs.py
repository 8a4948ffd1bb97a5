import numpy as np
import pytest

from keras_skeleton import graphs


@pytest.mark.parametrize("name", graphs.list_layouts())
def test_every_layout_is_a_tree_rooted_at_its_centre(name):
    layout = graphs.get_layout(name)
    assert len(layout.joint_names) == len(set(layout.joint_names))
    assert layout.parents[layout.center] == layout.center
    assert len(layout.inward_edges()) == layout.num_joints - 1
    for joint in range(layout.num_joints):       # every joint reaches the centre without a cycle
        seen, node = set(), joint
        while node != layout.center:
            assert node not in seen
            seen.add(node)
            node = layout.parents[node]


def test_layout_counts():
    expected = {"ntu25": 25, "nwucla20": 20, "coco17": 17, "openpose18": 18, "mediapipe33": 33, "hand21": 21}
    for name, joints in expected.items():
        assert graphs.get_layout(name).num_joints == joints


def test_ntu_hand_variants_and_bones():
    layout = graphs.get_layout("ntu25")
    chain = set(layout.inward_edges())
    pyskl = set(layout.inward_edges("pyskl"))
    assert (21, 22) in chain and (21, 7) in pyskl           # 1-based (22,23) vs (22,8)
    assert chain - pyskl == {(21, 22), (23, 24)}
    bones = dict(layout.bone_pairs())
    assert bones[20] == 20 and bones[0] == 1                 # joint 21 refers to itself
    effgcn = layout.parent_list("efficientgcn")
    assert effgcn[1] == 1 and effgcn[20] == 1


def test_spatial_adjacency_normalisation():
    a = graphs.spatial_adjacency("ntu25")
    assert a.shape == (3, 25, 25)
    np.testing.assert_array_equal(a[0], np.eye(25))
    np.testing.assert_allclose(a.sum(axis=(1, 2)), [25, 24, 20])
    column_sums = a[1].sum(axis=0)
    assert set(np.round(column_sums, 6)) <= {0.0, 1.0} and column_sums[20] == 0   # root column empty
    assert sorted(set(a[2][a[2] > 0].round(4))) == [0.25, 0.5, 1.0]
    np.testing.assert_allclose(graphs.spatial_adjacency("ntu25", "pyskl").sum(axis=(1, 2)), [25, 24, 18])
    np.testing.assert_allclose(graphs.spatial_adjacency("coco17").sum(axis=(1, 2)), [17, 16, 11])
    np.testing.assert_array_equal(graphs.spatial_adjacency("ntu25", orientation="source_row")[1], a[1].T)


def test_k_hop_adjacency_matches_efficientgcn_normalisation():
    a = graphs.k_hop_adjacency("ntu25", num_hops=3, max_hop=10)
    values = sorted(set(np.round(1.0 / a[a > 0]).astype(int)))
    assert values == [19, 21, 22, 23, 25]
    assert np.count_nonzero(a[0]) == 25 and np.count_nonzero(a[1]) == 48


def test_unknown_layout_names_the_choices():
    with pytest.raises(ValueError, match="ntu25"):
        graphs.get_layout("kinect99")
