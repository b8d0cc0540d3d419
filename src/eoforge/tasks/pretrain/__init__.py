"""Self-supervised pretraining as a Lightning task (``task.kind: pretrain``).

:class:`PretrainTask` trains an encoder with SimCLR, MoCo-v2, SoftCon or a
multi-scale MAE on views drawn on the device (:mod:`.views`).
"""

from eoforge.tasks.pretrain.task import METHODS, PretrainTask
from eoforge.tasks.pretrain.views import ViewSettings, random_view, view_affines

__all__ = ["METHODS", "PretrainTask", "ViewSettings", "random_view", "view_affines"]
