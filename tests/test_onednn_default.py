"""keras_skeleton turns TensorFlow's oneDNN kernels on unless the user chose otherwise."""

import os
import subprocess
import sys

import pytest

_PROBE = "import os, keras_skeleton; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"


@pytest.mark.parametrize("user_setting, expected", [(None, "1"), ("0", "0")])
def test_onednn_default_respects_an_explicit_setting(user_setting, expected):
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if user_setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = user_setting
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip().splitlines()[-1] == expected
