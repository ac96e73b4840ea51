"""The answer grammar's text (the real model under it: tests/test_local_answers.py)."""

from __future__ import annotations

import re

import pytest

from rag.answer import AnswerChain
from rag.grammar import answer_grammar
from rag.settings import Settings
from rag.types import NO_ANSWER


def rules(grammar: str) -> dict[str, str]:
    return dict(line.split(" ::= ", 1) for line in grammar.strip().splitlines())


def test_the_grammar_names_exactly_the_given_keys_and_the_sentinel():
    g = rules(answer_grammar([3, 1, 2, 2]))
    assert g["key"] == '"1" | "2" | "3"'
    assert g["decline"] == f'"{NO_ANSWER}"'
    assert g["root"] == "decline | answer"
    assert re.fullmatch(r'sentence \(" " sentence\)\{0,2\}', g["answer"])


def test_the_sentence_count_follows_max_sentences():
    assert rules(answer_grammar([1], max_sentences=1))["answer"].endswith("{0,0}")
    assert rules(answer_grammar([1], max_sentences=5))["answer"].endswith("{0,4}")


def test_a_grammar_without_keys_is_refused():
    with pytest.raises(ValueError, match="at least one source key"):
        answer_grammar([])


class _Reader:
    reads_grammar = True


class _Other:
    pass


@pytest.mark.parametrize("on, model, sent", [(True, _Reader(), True), (False, _Reader(), False),
                                             (True, _Other(), False)])
def test_the_chain_sends_the_grammar_only_when_on_and_read(on, model, sent):
    chain = AnswerChain(Settings(answer_grammar=on), retriever=None, chat_model=model, embed=None)
    body = chain._constraint({1: None, 2: None})
    assert ("grammar" in body.get("body", {})) is sent
    if sent:
        assert rules(body["body"]["grammar"])["key"] == '"1" | "2"'
