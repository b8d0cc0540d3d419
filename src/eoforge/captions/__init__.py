"""Captions from land-cover maps and vectors, each statement true of the labels.

Facts of a window (class shares, dominant and rare classes, where classes lie,
linear features that cross it, counts and sizes of vector features, changes
between two dates) become varied sentences drawn with a seed; a parser reads a
caption back into claims and :func:`verify` checks them against the facts.
:func:`caption_windows` captions every window of a scene folder, class raster
or catalog into the caption table (:func:`write_captions`,
:func:`read_captions`) that image-text training reads.

Example:
    >>> import numpy as np
    >>> from eoforge.captions import Vocabulary, caption, verify, window_facts
    >>> labels = np.ones((8, 8), dtype=np.uint8); labels[:, 6:] = 2
    >>> facts = window_facts(labels, labels > 0, {1: "forest", 2: "water"})
    >>> text = caption(facts, Vocabulary.from_names(facts.legend), 2, np.random.default_rng(0))
    >>> verify(text, facts).ok
    True
"""

from eoforge.captions.change import change_facts
from eoforge.captions.facts import WindowFacts
from eoforge.captions.layers import LabelLayer, find_label_layers
from eoforge.captions.sentences import caption
from eoforge.captions.table import CaptionMeta, CaptionTable, read_captions, write_captions
from eoforge.captions.vectors import VectorLayer, read_layer
from eoforge.captions.verify import Claim, Verdict, parse_caption, verify
from eoforge.captions.vocabulary import Vocabulary
from eoforge.captions.windows import CaptionOptions, Captions, caption_windows, window_facts

__all__ = [
    "CaptionMeta",
    "CaptionOptions",
    "CaptionTable",
    "Captions",
    "Claim",
    "LabelLayer",
    "VectorLayer",
    "Verdict",
    "Vocabulary",
    "WindowFacts",
    "caption",
    "caption_windows",
    "change_facts",
    "find_label_layers",
    "parse_caption",
    "read_captions",
    "read_layer",
    "verify",
    "window_facts",
    "write_captions",
]
