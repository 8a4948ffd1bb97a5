"""Numpy-only access to ``keras_skeleton.graphs`` for code that must not import TensorFlow.

``import keras_skeleton`` registers the Keras layers (and so imports TensorFlow);
the LiteRT predictor and the demo app must stay TensorFlow-free, so they load the
one definition of the layouts, ``keras_skeleton/graphs.py``, as a standalone module.
"""

import importlib.util
import os
import sys

if "keras_skeleton.graphs" in sys.modules:
    graphs = sys.modules["keras_skeleton.graphs"]
else:
    _NAME = "keras_skeleton_graphs_standalone"
    if _NAME not in sys.modules:
        _path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_skeleton",
                             "graphs.py")
        _spec = importlib.util.spec_from_file_location(_NAME, _path)
        _module = importlib.util.module_from_spec(_spec)
        sys.modules[_NAME] = _module
        _spec.loader.exec_module(_module)
    graphs = sys.modules[_NAME]

get_layout = graphs.get_layout
list_layouts = graphs.list_layouts
