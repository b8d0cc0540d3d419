"""Image-text contrastive training (``task.kind: image_text``).

:class:`ImageTextTask` trains an image tower and a text tower into one joint
space on image-caption pairs (:class:`CaptionPairs`, read from caption tables).
"""

from eoforge.tasks.image_text.pairs import CaptionPairs, CaptionTable, read_caption_table
from eoforge.tasks.image_text.task import POSITIVES, ImageTextTask

__all__ = ["POSITIVES", "CaptionPairs", "CaptionTable", "ImageTextTask", "read_caption_table"]
