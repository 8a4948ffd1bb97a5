"""keras-skeleton: skeleton-based action recognition in Keras 3, from raw recordings to TFLite."""

__version__ = "0.1.0"

from keras_skeleton import graphs  # noqa: F401
from keras_skeleton import layers  # noqa: F401
from keras_skeleton import optim  # noqa: F401  (registers the optimiser, schedules and losses)
from keras_skeleton.models import describe_model, get_model, list_models, register_model  # noqa: F401
