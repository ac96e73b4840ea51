"""What the model reads: each source cut to its share of the source budget (`rag.context`)."""

from __future__ import annotations

import pytest

from rag.context import compact_passages, count_tokens
from rag.types import Passage

QUESTION = ("Which index measures how rough flooded roads become, over how many years of condition records, and "
            "which tool explains the model?")

# the answer sits in the first source's later sentences; the other sources are long and off the point
FLOOD = ("Flooding can damage pavement infrastructure significantly. This research investigates how flooding "
         "events affect pavement deterioration. Roughness is measured by the International Roughness Index, the "
         "profile-based measure that road agencies use to rate the ride quality of flooded and unflooded "
         "surfaces alike. We utilized 20 years of pavement condition records from the state pavement "
         "management database, joined with the duration and extent of every flood. The flood model is explained "
         "with SHAP values, which show which road, traffic and flood features drive the growth of roughness. "
         "Results show that flood-affected pavements get rough faster than other sections. The effect is "
         "largest for long floods on older pavements, and it lasts for years after the water recedes.")
CRACKS = ("Highway networks are crucial for economic prosperity. Temperature swings stress road pavements. "
          "This underscores the need for targeted maintenance strategies. We investigate open-source data "
          "to guide highway maintenance. A national crack density index informs maintenance planning. "
          "High crack density values were observed near urban centers and intersections. Street-view images "
          "were labelled by a detector trained on public data. The predictions agree with inspection reports "
          "from several regions, and the maps are released for planners.")
OCEAN = ("Reduced-order surrogates speed up coastal ocean models. Prediction errors are largest for current "
         "velocities. The surrogate changes the water level error by a few percent. Inference is hundreds of "
         "times faster, which enables ensemble forecasting. Long climate simulations become affordable. The "
         "surrogate is trained on simulations of a flexible mesh model of a strait. It uses a proper orthogonal "
         "decomposition of the states and a neural network in the reduced space.")


def passage(i: int, text: str, score: float) -> Passage:
    return Passage(paper_id=f"p{i}", chunk_id=f"p{i}#0", text=text, title=f"Paper {i}", authors=[], year=2025,
                   venue=None, score=score)


@pytest.fixture(scope="module")
def embed():
    from rag.embeddings import MiniLMEmbedder

    model = MiniLMEmbedder(threads=1)
    return model.embed


def sources() -> dict[int, Passage]:
    return {1: passage(1, FLOOD, 0.62), 2: passage(2, CRACKS, 0.41), 3: passage(3, OCEAN, 0.30)}


def test_a_long_source_keeps_its_sentences_closest_to_the_question(embed):
    budget = 180
    shown = compact_passages(QUESTION, sources(), embed, budget=budget)
    assert sorted(shown) == [1, 2, 3]
    # the first source is cut to its share, and keeps the sentences that answer before the others
    assert count_tokens(shown[1].text) < count_tokens(FLOOD)
    assert "International Roughness Index" in shown[1].text
    assert sum(count_tokens(p.text) for p in shown.values()) <= budget + 3 * 4  # the " ... " marks aside
    for key, p in shown.items():  # each cut source says where text was left out, in the record's order
        assert p.paper_id == f"p{key}" and "..." in p.text


def test_too_small_a_budget_drops_the_lowest_ranked_sources(embed):
    shown = compact_passages(QUESTION, sources(), embed, budget=130)  # two shares of 60 tokens at most
    assert sorted(shown) == [1, 2]


def test_sources_under_the_budget_are_given_whole(embed):
    short = {1: passage(1, "Roughness rises after floods.", 0.6), 2: passage(2, "Cracks cluster near cities.", 0.4)}
    assert compact_passages(QUESTION, short, embed, budget=400) == short


def test_no_budget_means_no_cut(embed):
    assert compact_passages(QUESTION, sources(), embed, budget=0) == sources()
