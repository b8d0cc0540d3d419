"""CLOSP-style training: optical-text and SAR-text pairs of different places, then optical -> SAR
retrieval of windows of the same material, which no training pair ever showed together."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.utilities import CombinedLoader
from tests.embeddings.windows import CRS, WINDOW, T, write_scene
from tests.experiment.caption_scenes import pattern, write_captions
from tests.helpers import write_tif
from torch.utils.data import DataLoader

from eoforge.data import collate
from eoforge.embeddings import build_index, embed, read_tables
from eoforge.errors import ConfigError
from eoforge.models import ModelSpec, build_model
from eoforge.models.image_text import ClospModel, ImageTower
from eoforge.models.image_text_bundle import save_closp_bundles
from eoforge.tasks.image_text import CaptionPairs, read_caption_table
from eoforge.tasks.image_text.closp import ClospTask, cross_modality_scores
from eoforge.text import SentenceTower
from eoforge.text.search import search_text

OPTICAL = ["S2.B04", "S2.B08", "S2.B11"]
SAR = ["S1.VV", "S1.VH"]
BACKSCATTER = np.array([[-7.0, -13.0], [-11.0, -18.0], [-20.0, -27.0]], np.float32)
"""dB of vegetation, bare soil and water in VV and VH."""


def write_sar(path: Path, materials: np.ndarray, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    data = BACKSCATTER[materials].transpose(2, 0, 1)
    data = np.repeat(np.repeat(data, WINDOW, axis=1), WINDOW, axis=2)
    data = data + rng.normal(0, 0.3, data.shape).astype(np.float32)
    return write_tif(path, data.astype(np.float32), T, CRS, descriptions=SAR)


def tower(bands: list[str]) -> ImageTower:
    spec = ModelSpec(
        task="embedding",
        arch="image_text_tower",
        in_bands=bands,
        num_classes=1,
        options={"encoder_options": {"depth": 1, "patch_size": 8}, "dim": 32},
    )
    built = build_model(spec)
    assert isinstance(built, ImageTower)
    return built


def pairs(folder: Path, image: Path, materials: np.ndarray, bands: list[str]) -> CaptionPairs:
    table = read_caption_table(write_captions(folder / f"{image.stem}.parquet", materials))
    return CaptionPairs([(table, [image])], bands, WINDOW)  # type: ignore[list-item]


def stats(data: CaptionPairs) -> tuple[list[float], list[float]]:
    images = torch.stack([data[i]["image"] for i in range(0, len(data), 3)])
    return images.mean(dim=(0, 2, 3)).tolist(), images.std(dim=(0, 2, 3)).clamp(min=1e-3).tolist()


def windows(data: CaptionPairs) -> torch.Tensor:
    return torch.stack([data[i]["image"] for i in range(0, len(data), 3)])  # one per window


@pytest.fixture(scope="module")
def text() -> SentenceTower:
    return SentenceTower()


def test_optical_and_sar_meet_through_text(tmp_path: Path, text: SentenceTower) -> None:
    torch.manual_seed(0)
    # training: optical windows of one place, SAR windows of another
    optical_materials, sar_materials = pattern(8, 8, seed=1), pattern(8, 8, seed=2)
    optical = pairs(tmp_path, write_scene(tmp_path / "opt.tif", optical_materials, seed=1),
                    optical_materials, OPTICAL)  # fmt: skip
    sar = pairs(tmp_path, write_sar(tmp_path / "sar.tif", sar_materials, seed=2),
                sar_materials, SAR)  # fmt: skip
    norm = {"optical": stats(optical), "sar": stats(sar)}
    model = ClospModel({"optical": tower(OPTICAL), "sar": tower(SAR)}, text)
    task = ClospTask(model, norm, lr=3e-3)
    loaders = {
        name: DataLoader(data, batch_size=16, shuffle=True, collate_fn=collate)
        for name, data in (("optical", optical), ("sar", sar))
    }
    untrained = ClospTask(ClospModel({"optical": tower(OPTICAL), "sar": tower(SAR)}, text), norm)
    trainer = L.Trainer(max_epochs=6, accelerator="cpu", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)  # fmt: skip
    trainer.fit(task, CombinedLoader(loaders, mode="max_size_cycle"))
    assert np.mean(task.history[-4:]) < np.mean(task.history[:4])
    # a new place seen by both sensors: optical windows query the SAR windows
    shared = pattern(4, 6, seed=3)
    test_optical = pairs(tmp_path, write_scene(tmp_path / "t_opt.tif", shared, seed=5),
                         shared, OPTICAL)  # fmt: skip
    test_sar = pairs(tmp_path, write_sar(tmp_path / "t_sar.tif", shared, seed=6), shared, SAR)
    same_material = shared.reshape(-1)[:, None] == shared.reshape(-1)[None, :]
    scores = {}
    for name, scored in (("trained", task), ("untrained", untrained)):
        scored.eval()
        with torch.no_grad():
            q = scored.embed("optical", windows(test_optical)).numpy()
            c = scored.embed("sar", windows(test_sar)).numpy()
        scores[name] = cross_modality_scores(q, c, same_material)
    assert scores["trained"]["recall@1"] >= 0.9, scores
    assert scores["trained"]["map"] > scores["untrained"]["map"] + 0.2, scores
    with pytest.raises(ConfigError, match="no image tower"):
        task.model.encode_image("hyperspectral", torch.zeros(1, 3, 16, 16))
    # one bundle per modality, one text side: embed and search each with the usual commands
    bundles = save_closp_bundles(tmp_path / "closp", task.model, norm, patch_size=WINDOW)
    assert set(bundles) == {"optical", "sar"}
    table = embed(bundles["sar"], tmp_path / "t_sar.tif", tmp_path / "emb")[0]
    vectors = read_tables(table.paths["embeddings"]).vectors
    with torch.no_grad():
        direct = task.embed("sar", windows(test_sar)).numpy()
    np.testing.assert_allclose(vectors, direct, atol=1e-4)
    build_index(table.paths["embeddings"], tmp_path / "sar_index")
    found = search_text(["open water"], tmp_path / "sar_index", k=4)
    assert np.mean(shared.reshape(-1)[found["id"].to_numpy()] == 2) >= 0.75
