import rag


def test_all_is_sorted_and_complete():
    assert rag.__all__ == sorted(rag.__all__)
    for name in rag.__all__:
        assert getattr(rag, name) is not None


def test_front_door_names():
    from rag import Answer, Assistant, Citation, ask

    assert callable(ask) and Assistant.__name__ == "Assistant"
    assert {"text", "citations", "sources", "abstained", "unsupported_sentences", "filters_applied", "timings",
            "usage", "model"} <= set(Answer.__dataclass_fields__)
    assert {"key", "paper_id", "title", "authors", "year", "venue", "passage"} <= set(Citation.__dataclass_fields__)
