"""Files a user can get wrong: each gives an `InputError` naming the file and the reason, never a crash."""

from __future__ import annotations

import json

import pytest

from rag.parsers import parse_file, parse_paths

README_PROSE = """# My project

This repository holds notes about the build. To install it, run the setup script and
follow the prompts. The configuration lives in a YAML file next to this one.

Contributions are welcome; please open an issue first and describe what you would change.
"""


@pytest.mark.parametrize("name, content, reason, line", [
    ("empty.txt", b"", "empty", None),
    ("blank.txt", b"  \n\n\t \n", "empty", None),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary", None),
    ("latin1.txt", "Title line\nSecond line\ncaf\u00e9 au lait\n".encode("latin-1"), "not UTF-8", 3),
    ("readme.md", README_PROSE.encode(), "no known layout", None),
    ("bad.json.gz", b"not gzip at all", "gzip", None),
])
def test_unreadable_files(tmp_path, name, content, reason, line):
    path = tmp_path / name
    path.write_bytes(content)
    result = parse_file(path)
    assert not result.records and len(result.errors) == 1
    err = result.errors[0]
    assert err.path == str(path) and str(path) in str(err) and reason in err.reason
    assert err.line == line


def test_oversized_page_names_the_limit(tmp_path):
    path = tmp_path / "huge.txt"
    block = (b"lorem ipsum dolor sit amet " * 40 + b"\n") * 1000  # about 1 MB
    with path.open("wb") as fh:
        for _ in range(50):
            fh.write(block)
    [err] = parse_file(path).errors
    assert str(path) in str(err) and "limit" in err.reason and "RAG_MAX_PAGE_MB" in err.reason


def test_jsonl_with_two_broken_lines(tmp_path):
    lines = [json.dumps({"title": "A"}), "{broken", json.dumps({"title": "B"}), '{"no": "title"}', json.dumps({"abstract": "C"})]
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = parse_file(path)
    assert [r.title or r.abstract for r in result.records] == ["A", "B", "C"]
    assert [(e.line, e.path) for e in result.errors] == [(2, str(path)), (4, str(path))]
    assert "invalid JSON" in result.errors[0].reason and "no title or abstract" in result.errors[1].reason
    assert str(result.errors[0]).startswith(f"{path}:2: ")


def test_missing_path(tmp_path):
    missing = tmp_path / "nope" / "papers.jsonl"
    [(path, result)] = list(parse_paths([missing]))
    assert path == missing and not result.records
    [err] = result.errors
    assert err.path == str(missing) and "no such file" in err.reason
