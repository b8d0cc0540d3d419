"""CLOSP from a config (data.modalities): eoforge train writes one bundle per modality, all of one
joint space, so an index of SAR vectors answers the optical bundle, optical vectors and words,
while vectors of another joint space (or merged tables) are still refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from tests.embeddings.windows import WINDOW
from tests.experiment.caption_scenes import pattern, write_captions
from tests.helpers import run_cli
from tests.tasks.test_closp import OPTICAL, SAR, tower, write_sar, write_scene

from eoforge.embeddings import build_index, embed, open_index, read_tables
from eoforge.errors import ConfigError
from eoforge.experiment import load_config
from eoforge.experiment.image_text_eval import caption_retrieval
from eoforge.experiment.loading import validate_config
from eoforge.experiment.train import train
from eoforge.models.image_text import ClospModel
from eoforge.models.image_text_bundle import save_closp_bundles
from eoforge.predict.identity import ModelIdentity, bundle_identity, same_model
from eoforge.text import SentenceTower
from eoforge.text.search import search_text

CONFIG = Path("closp.yaml")
"""The file name validate_config quotes in its messages."""


def scenes(folder: Path) -> dict[str, Any]:
    """Optical captions of one place, SAR captions of another, and a third place seen by both."""
    optical, sar, shared = pattern(6, 6, seed=1), pattern(6, 6, seed=2), pattern(4, 6, seed=3)
    out: dict[str, Any] = {"shared": shared}
    out["optical"] = write_scene(folder / "opt.tif", optical, seed=1)
    out["optical_table"] = write_captions(folder / "opt.parquet", optical)
    out["sar"] = write_sar(folder / "sar.tif", sar, seed=2)
    out["sar_table"] = write_captions(folder / "sar.parquet", sar)
    out["test_optical"] = write_scene(folder / "t_opt.tif", shared, seed=5)
    out["test_sar"] = write_sar(folder / "t_sar.tif", shared, seed=6)
    return out


def raw_config(data: dict[str, Any], run: Path, epochs: int = 6) -> dict[str, Any]:
    return {
        "data": {
            "kind": "captions",
            "modalities": {"optical": OPTICAL, "sar": SAR},
            "batch_size": 16,
            "num_workers": 0,
            "val_fraction": 0.1,
            "train": [
                {
                    "table": str(data["optical_table"]),
                    "images": [str(data["optical"])],
                    "modality": "optical",
                },
                {"table": str(data["sar_table"]), "images": [str(data["sar"])], "modality": "sar"},
            ],
        },
        "model": {"arch": "spectral_vit", "options": {"depth": 1, "patch_size": 8}},
        "task": {"kind": "image_text", "text": {"dim": 32}},
        "optim": {"lr": 0.003},
        "trainer": {"max_epochs": epochs, "accelerator": "cpu", "output_dir": str(run)},
    }


def test_config_names_a_modality_per_table(tmp_path: Path) -> None:
    data = scenes(tmp_path)
    raw = raw_config(data, tmp_path / "run")
    assert validate_config(raw, CONFIG).data.modalities == {"optical": OPTICAL, "sar": SAR}  # type: ignore[union-attr]
    bad = json.loads(json.dumps(raw))
    bad["data"]["train"][1]["modality"] = "hyperspectral"
    with pytest.raises(ConfigError, match=r"data.train\[1\].modality is 'hyperspectral'"):
        validate_config(bad, CONFIG)
    bad = json.loads(json.dumps(raw))
    bad["data"]["train"] = bad["data"]["train"][:1]
    with pytest.raises(ConfigError, match=r"no data.train table of modality \['sar'\]"):
        validate_config(bad, CONFIG)
    bad = json.loads(json.dumps(raw))
    bad["data"]["bands"] = OPTICAL
    with pytest.raises(ConfigError, match="not both"):
        validate_config(bad, CONFIG)
    bad = json.loads(json.dumps(raw))
    del bad["data"]["modalities"]
    with pytest.raises(ConfigError, match=r"data\.modalities is not set"):
        validate_config(bad, CONFIG)


def test_train_writes_towers_of_one_joint_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = scenes(tmp_path)
    run = tmp_path / "run"
    result = train(validate_config(raw_config(data, run), CONFIG), progress=False)
    assert {"val/loss", "val/loss_optical", "val/loss_sar"} <= set(result.metrics)
    mean = (result.metrics["val/loss_optical"] + result.metrics["val/loss_sar"]) / 2
    assert result.metrics["val/loss"] == pytest.approx(mean, rel=0.2)
    optical, sar = result.bundle / "optical", result.bundle / "sar"
    joint = {json.loads((b / "text.json").read_text())["joint_space"] for b in (optical, sar)}
    assert len(joint) == 1
    ids = bundle_identity([optical]), bundle_identity([sar])
    assert ids[0].fingerprint != ids[1].fingerprint
    assert ids[0].joint_space == ids[1].joint_space == joint.pop()
    # the SAR index answers words through the optical bundle's text side ...
    shared = data["shared"].reshape(-1)
    sar_table = embed(sar, data["test_sar"], tmp_path / "emb_sar")[0]
    opt_table = embed(optical, data["test_optical"], tmp_path / "emb_opt")[0]
    build_index(sar_table.paths["embeddings"], tmp_path / "sar_index")
    found = search_text(["open water"], tmp_path / "sar_index", bundle=optical, k=4)
    assert np.mean(shared[found["id"].to_numpy()] == 2) >= 0.75
    # ... and optical vectors: each optical window finds SAR windows of its material
    index = open_index(tmp_path / "sar_index")
    queries = read_tables(opt_table.paths["embeddings"])
    hits = index.search(queries.vectors, 1, model=queries.model)
    same = shared[hits["id"].to_numpy()] == shared[hits["query"].to_numpy()]
    # chance: 0.35 (the material shares); water and vegetation all right, bare soil is the weak one
    assert same.mean() >= 0.6, same.mean()
    # merging optical and SAR tables into one index is still refused (not a search)
    with pytest.raises(ConfigError, match="vectors of different models"):
        read_tables([sar_table.paths["embeddings"], opt_table.paths["embeddings"]])
    # towers of another joint space are refused, naming both joint spaces
    torch.manual_seed(1)
    other = ClospModel({"optical": tower(OPTICAL), "sar": tower(SAR)}, SentenceTower())
    norm = {"optical": ([0.0] * 3, [1.0] * 3), "sar": ([0.0] * 2, [1.0] * 2)}
    stranger = save_closp_bundles(tmp_path / "other", other, norm, patch_size=WINDOW)["optical"]
    foreign = bundle_identity([stranger]).joint_space
    assert foreign is not None and foreign != ids[1].joint_space
    with pytest.raises(ConfigError, match=f"joint space {foreign}"):
        search_text(["open water"], tmp_path / "sar_index", bundle=stranger, k=4)
    # the command line takes the optical bundle for the SAR index too
    args = ["search", "open water", str(tmp_path / "sar_index"), "--bundle", str(optical)]
    assert run_cli(args, monkeypatch) == 0
    assert "open water" in capsys.readouterr().out
    args[-1] = str(stranger)
    assert run_cli(args, monkeypatch) != 0
    # eoforge evaluate --retrieval scores each tower on its own modality's validation pairs
    config = tmp_path / "closp.yaml"
    config.write_text(yaml.safe_dump(raw_config(data, run)))
    both = caption_retrieval(result.bundle, config)
    alone = caption_retrieval(optical, config)
    assert {k.split("/")[0] for k in both} == {"optical", "sar"}
    own = {k.removeprefix("optical/"): v for k, v in both.items() if k.startswith("optical/")}
    assert alone == own
    assert both["sar/windows"] >= 3 and 0 < alone["t2i/recall@1"] <= 1
    with pytest.raises(ConfigError, match="no bundle of this CLOSP run"):
        caption_retrieval(tmp_path / "emb_sar", config)


def test_joint_space_is_opt_in_and_round_trips() -> None:
    a = ModelIdentity("a" * 16, ("opt",), ("S2.B04",), "j" * 16)
    b = ModelIdentity("b" * 16, ("sar",), ("S1.VV",), "j" * 16)
    c = ModelIdentity("c" * 16, ("x",), ("S1.VV",), None)
    assert ModelIdentity.from_dict(a.to_dict()) == a
    assert "joint_space" not in c.to_dict() and ModelIdentity.from_dict(c.to_dict()) == c
    same_model(a, b, what="the index", fix="-", joint=True)
    with pytest.raises(ConfigError, match="different models"):
        same_model(a, b, what="the index", fix="-")  # strict unless the caller searches
    for first, second in ((a, c), (c, a), (c, ModelIdentity("d" * 16, ("y",), (), None))):
        with pytest.raises(ConfigError, match="different models"):
            same_model(first, second, what="the index", fix="-", joint=True)


def test_recipe_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    overrides = [f"trainer.output_dir={tmp_path / 'run'}"]
    for i in range(4):
        for key in ("table", "images"):
            (tmp_path / f"{key}{i}").mkdir()
            overrides.append(f"data.train[{i}].{key}={tmp_path / f'{key}{i}'}")
    config = load_config(root / "configs" / "closp_synth.yaml", overrides)
    modalities = [s.modality for s in config.data.train]  # type: ignore[union-attr]
    assert modalities == ["optical", "optical", "sar", "sar"]
