"""Models; importing this package registers every model."""

from keras_skeleton.models import ctrgcn  # noqa: F401  (registers "ctrgcn")
from keras_skeleton.models.registry import describe_model, get_model, list_models, register_model  # noqa: F401
