"""Reading published checkpoint files safely (local files only, no pickled code).

Published training checkpoints wrap the model: DINO keeps ``teacher`` and
``student``, MAE ``model``, MoCo and Lightning ``state_dict``. The teacher is
the published DINO encoder, so it is preferred.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import torch

from eoforge.errors import MissingFileError, UnreadableFileError, UnsafeModelFileError
from eoforge.models.importers.base import StateDict
from eoforge.models.weights import PICKLE_SUFFIXES, load_state_dict_file

CHECKPOINT_ENTRIES = ("teacher", "state_dict", "model_state_dict", "model", "weights")
"""Entries holding the model in published training checkpoints, in preference order."""


def read_checkpoint(path: str | PathLike[str]) -> StateDict:
    """Tensors of a local checkpoint, without running pickled code.

    ``.safetensors`` as is; PyTorch files with ``torch.load(weights_only=True)``,
    unwrapping the entry that holds the model (``teacher`` for DINO, then
    ``state_dict``, ``model``, ...).

    Raises:
        MissingFileError: No such file.
        UnsafeModelFileError: The file needs unpickling arbitrary objects.
        UnreadableFileError: Unknown suffix, corrupt, or no tensors.
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError("checkpoint not found.", path=file, fix="check the path.")
    if file.suffix.lower() not in PICKLE_SUFFIXES:
        return load_state_dict_file(file)
    try:
        obj: object = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first = (str(error).strip().splitlines() or ["refused"])[0]
        raise UnsafeModelFileError(
            f"refusing to load: the file needs unpickling arbitrary Python objects ({first}).",
            path=file,
            fix="in a trusted environment re-save only the tensors, e.g. "
            "safetensors.torch.save_file(checkpoint['teacher'] or checkpoint['model'], "
            "'weights.safetensors'), and give that file.",
        ) from None
    except (RuntimeError, OSError, EOFError, ValueError) as error:
        raise UnreadableFileError(
            f"not a readable PyTorch file ({error}).",
            path=file,
            fix="check that the copy is complete, or convert it to .safetensors.",
        ) from None
    while isinstance(obj, Mapping):
        inner = next((obj[k] for k in CHECKPOINT_ENTRIES if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    tensors = (
        {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if isinstance(obj, Mapping)
        else {}
    )
    if not tensors:
        raise UnreadableFileError(
            "the file holds no tensors (expected a state dict or a training checkpoint).",
            path=file,
            fix="save model.state_dict() of the encoder.",
        )
    return tensors
