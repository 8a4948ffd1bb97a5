"""What a saved model expects as input, in a JSON "card" beside it: ``<name>.json`` for ``<name>.keras``.

A ``.keras`` file holds the architecture and the weights but not the input stream (joint, bone,
joint_motion, bone_motion) that the feeder must compute from the raw joints: a bone model fed joints
runs without any error and gives wrong scores. Training writes a card beside every model it saves;
evaluation reads the modality from it (or from the run's ``config.json``) and refuses a contradicting
``--stream_modalities``.
"""

from __future__ import annotations

import json
import os

from data_tools.prepared import atomic_write_json
from data_tools.transforms import MODALITIES


def card_path(model_path: str) -> str:
    """``runs/x/model.keras`` -> ``runs/x/model.json``."""
    return os.path.splitext(model_path)[0] + ".json"


def write_model_card(model_path: str, **fields) -> None:
    """Writes the card of ``model_path`` atomically (``modality`` is required)."""
    if fields.get("modality") not in MODALITIES:
        raise ValueError(f"a model card needs a modality in {MODALITIES}, got {fields.get('modality')!r}")
    atomic_write_json(card_path(model_path), fields)


def recorded_setting(model_path: str, name: str) -> tuple[object, str | None]:
    """(value, file it was read from) of one setting of a saved model, or (None, None) when nothing records it.

    Looks at the model's own card first, then at the ``config.json`` (every resolved training flag) of
    the run directory it sits in, or of the run whose ``checkpoints/`` hold it.
    """
    folder = os.path.dirname(os.path.abspath(model_path))
    candidates = [card_path(model_path), os.path.join(folder, "config.json")]
    if os.path.basename(folder) == "checkpoints":
        candidates.append(os.path.join(os.path.dirname(folder), "config.json"))
    for path in candidates:
        if not os.path.isfile(path):
            continue
        try:
            with open(path) as f:
                value = json.load(f).get(name)
        except (OSError, ValueError, AttributeError) as e:
            raise ValueError(f"cannot read the {name} of '{model_path}' from '{path}': {e}") from None
        if value is not None:
            return value, path
    return None, None


def recorded_modality(model_path: str) -> tuple[str | None, str | None]:
    """(modality, file it was read from) for a saved model, or (None, None) when nothing records it."""
    modality, path = recorded_setting(model_path, "modality")
    if modality is not None and modality not in MODALITIES:
        raise ValueError(f"'{path}' gives modality '{modality}', not one of {', '.join(MODALITIES)}")
    return modality, path


def resolve_modality_and_source(model_path: str, given: str | None, flag: str) -> tuple[str | None, str | None]:
    """(stream to feed ``model_path``, where it came from): the recorded one and its file, else ``given`` and ``flag``.

    Feeding a model another stream than it was trained on gives wrong scores without any error, so
    ``given`` (the value of ``flag``) only fills in for a model that records nothing, and a ``given``
    that contradicts the record is refused. Returns (None, None) when neither says. Raises ValueError.
    """
    recorded, source = recorded_modality(model_path)
    if recorded and given and given != recorded:
        raise ValueError(f"model '{model_path}' was trained on {recorded} ('{source}'), but {flag} gives it {given}")
    if recorded:
        return recorded, source
    return (given, flag) if given else (None, None)


def resolve_modality(model_path: str, given: str | None, flag: str) -> str | None:
    """The stream to feed ``model_path`` (see ``resolve_modality_and_source``)."""
    return resolve_modality_and_source(model_path, given, flag)[0]
