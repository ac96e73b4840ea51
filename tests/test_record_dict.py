"""`Record.to_dict`: every field of the dataclass, as plain data, and back again."""

from __future__ import annotations

import dataclasses

from rag.parsers import parse_file
from rag.records import Record, Source

SAMPLE = __import__("pathlib").Path(__file__).parents[1] / "rag" / "sample"


def test_to_dict_is_the_dataclass_as_plain_data_and_round_trips():
    records = [r for f in sorted(SAMPLE.iterdir()) for r in parse_file(f).records]
    records.append(Record(title="T", authors=["A B"], sources=[Source("f.txt", 3, "layout", True)]))
    assert len(records) > 40
    for r in records:
        d = r.to_dict()
        assert d == dataclasses.asdict(r)  # every field, nothing added
        assert Record.from_dict(d) == r
        sources = len(r.sources)
        d["authors"].append("Someone Else")
        d["sources"].clear()
        assert "Someone Else" not in r.authors and len(r.sources) == sources > 0  # the record is not shared
