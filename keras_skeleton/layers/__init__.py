"""Keras 3 layers (channels-last, ``keras.ops`` only); importing registers them for deserialisation."""

from keras_skeleton.layers.common import PersonDataNorm, PersonPool, TemporalConv, TemporalMaxPool  # noqa: F401
from keras_skeleton.layers.ctrgcn import CTRGC, CTRGCNBlock, MultiScaleTemporalConv, UnitGCN  # noqa: F401
from keras_skeleton.layers.ctrgcn_light import FusedMultiScaleTemporalConv, FusedUnitGCN, LightBlock  # noqa: F401
from keras_skeleton.layers.stgcnpp import AdaptiveGraphConv, MultiScaleTCNPlusPlus, STGCNPlusPlusBlock  # noqa: F401
from keras_skeleton.layers.efficientgcn import (ChannelSlice, EfficientGCNInputs, SpatialGraphLayer,  # noqa: F401
                                                STJointAttention, TemporalBasicLayer, TemporalDepthwiseConv,
                                                TemporalSGLayer)
