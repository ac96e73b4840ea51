import pytest

from rag.errors import ConfigError
from rag.settings import Settings, describe_settings, load_settings


def test_env_prefix_sets_fields(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "120")
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    s = load_settings()
    assert s.chunk_tokens == 120
    assert s.chroma_dir == tmp_path / "chroma"
    assert s.state_path.parent == tmp_path / "state"


@pytest.mark.parametrize("name,value", [("RAG_CHUNK_TOKENS", "5"), ("RAG_CHROMA_PORT", "http"),
                                        ("RAG_COLLECTION", "x"), ("RAG_CHUNK_OVERLAP", "90")])
def test_bad_value_is_a_config_error_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="invalid setting"):
        load_settings()


def test_every_setting_is_described():
    rows = describe_settings()
    assert [r[0] for r in rows] == [f"RAG_{n.upper()}" for n in Settings.model_fields]
    assert all(len(desc) > 15 for _, _, desc in rows)


def test_state_file_differs_per_store(tmp_path):
    local = Settings(data_dir=tmp_path)
    server = Settings(data_dir=tmp_path, chroma_host="127.0.0.1", chroma_port=9000)
    assert local.state_path != server.state_path


def test_the_shipped_default_backend_is_the_local_model(monkeypatch):
    monkeypatch.delenv("RAG_BACKEND", raising=False)
    assert Settings().backend == "local"


def test_an_empty_variable_means_unset(monkeypatch):
    monkeypatch.setenv("RAG_LOCAL_MODEL_PATH", "")
    monkeypatch.setenv("RAG_LLM_BASE_URL", " ")
    settings = Settings()
    assert settings.local_model_path is None and settings.llm_base_url is None
