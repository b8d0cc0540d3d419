"""Reading published checkpoint files safely (local files only, no pickled code).

Published training checkpoints wrap the model: DINO keeps ``teacher`` and
``student``, MAE ``model``, MoCo and Lightning ``state_dict``. The teacher is
the published DINO encoder, so it is preferred.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from eoforge.errors import MissingFileError
from eoforge.models.importers.base import StateDict
from eoforge.models.weights import load_state_dict_file

CHECKPOINT_ENTRIES = ("teacher", "state_dict", "model_state_dict", "model", "weights")
"""Entries holding the model in published training checkpoints, in preference order."""


def read_checkpoint(path: str | PathLike[str]) -> StateDict:
    """Tensors of a local checkpoint, without running pickled code.

    ``.safetensors`` as is; PyTorch files with ``torch.load(weights_only=True)``
    (:func:`~eoforge.models.weights.load_state_dict_file`), unwrapping the entry
    that holds the model (``teacher`` for DINO, then ``state_dict``, ``model``, ...).

    Raises:
        MissingFileError: No such file.
        UnsafeModelFileError: The file needs unpickling arbitrary objects.
        UnreadableFileError: Unknown suffix, corrupt, or no tensors.
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError("checkpoint not found.", path=file, fix="check the path.")
    return load_state_dict_file(file, entries=CHECKPOINT_ENTRIES)
