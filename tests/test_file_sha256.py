"""rag.ingest.file_sha256: one file's digest, or several files' read one after the other."""

from __future__ import annotations

import hashlib

from rag.eval.datasets import load_questions
from rag.ingest import file_sha256


def test_one_file_is_the_sha256_of_its_bytes(tmp_path):
    path = tmp_path / "a.bin"
    data = bytes(range(256)) * 9000  # over one 1 MiB block
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_several_files_hash_as_their_concatenation_in_order(tmp_path):
    a, b, empty = tmp_path / "a", tmp_path / "b", tmp_path / "empty"
    a.write_bytes(b"corpus\n")
    b.write_bytes(b"queries\n")
    empty.write_bytes(b"")
    assert file_sha256(a, empty, b) == hashlib.sha256(b"corpus\nqueries\n").hexdigest()
    assert file_sha256(a, b) != file_sha256(b, a)


def test_a_question_file_is_named_by_its_file_sha256(tmp_path):
    path = tmp_path / "qs.jsonl"
    path.write_text('{"id": "q1", "question": "Which paper?", "type": "unanswerable", "gold": []}\n')
    assert load_questions(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
