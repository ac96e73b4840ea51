"""The offline evaluation harness (`rag.eval`): grounding and retrieval metrics, datasets, reports."""
