"""The four scraped-page layouts on the five seed pages, checked against hand-read expectations.

Expected values were written by reading rag/sample/*.txt, not by running the parsers.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from rag.parsers import authorpage, catdate, lastfirst, seemore
from rag.parsers.names import parse_last_first_line

SAMPLE = Path(__file__).resolve().parents[1] / "rag" / "sample"
PAGES = {
    "000_13d5aad15bf4a0c8.txt": lastfirst,
    "001_a4323ca72a42ac54.txt": authorpage,
    "002_c1de83a5afe8dc88.txt": catdate,
    "003_ee65fb6764ce95d4.txt": seemore,
    "004_c5f8150dd4ef6c04.txt": authorpage,
}
LAYOUTS = (catdate, seemore, authorpage, lastfirst)  # dispatch order in rag.parsers.base


@cache
def parsed(name: str):
    path = SAMPLE / name
    return PAGES[name].parse(path, path.read_text(encoding="utf-8"))


def records(name: str):
    return parsed(name).records


# --- lastfirst (000) ------------------------------------------------------------------------

LASTFIRST = [
    ("Understanding and Minimising Outlier Features in Neural Network Training",
     ["Bobby He", "Lorenzo Noci", "Daniele Paliotta", "Imanol Schlag", "Thomas Hofmann"]),
    ("On Training Data Influence of GPT Models",
     ["Qingyi Liu", "Yekun Chai", "Shuohuan Wang", "Yu Sun", "Qiwei Peng", "Keze Wang", "Hua Wu"]),
    ("Consciousness-Inspired Spatio-Temporal Abstractions for Better Generalization in Reinforcement Learning",
     ["Mingde Zhao", "Safa Alver", "Harm van Seijen", "Romain Laroche", "Doina Precup", "Yoshua Bengio"]),
    ("Goal-Conditioned Q-Learning as Knowledge Distillation", ["Alexander Levine", "Soheil Feizi"]),
    ("Decentralized Motion Planning for Multi-Robot Navigation using Deep Reinforcement Learning",
     ["Sivanathan Kandhasamy", "Vinayagam Babu Kuppusamy", "Tanmay Vilas Samak", "Chinmay Vilas Samak"]),
]


@pytest.mark.parametrize("i", range(len(LASTFIRST)))
def test_lastfirst_records(i):
    rec = records("000_13d5aad15bf4a0c8.txt")[i]
    title, authors = LASTFIRST[i]
    assert (rec.title, rec.authors, rec.authors_complete) == (title, authors, True)
    assert (rec.date, rec.venue, rec.categories, rec.affiliations) == (None, None, [], [])
    assert rec.sources[0].line == 2 + 3 * i and rec.sources[0].layout == "lastfirst"


def test_lastfirst_junk_line_skipped_and_last_abstract_kept():
    result = parsed("000_13d5aad15bf4a0c8.txt")
    assert len(result.records) == 5 and result.errors == []
    assert all("step training" not in (r.title or "") for r in result.records)
    assert result.records[-1].abstract.endswith("for both training and deployment phases.")


@pytest.mark.parametrize("line, expected", [
    ("He, Bobby, Noci, Lorenzo", ["Bobby He", "Lorenzo Noci"]),
    ("van Seijen, Harm", ["Harm van Seijen"]),
    ("Kuppusamy, Vinayagam Babu", ["Vinayagam Babu Kuppusamy"]),
    ("Jayakumar, Siddhant M.", ["Siddhant M. Jayakumar"]),
    ("step training step training step", None),
    ("He, Bobby, Noci", None),
    ("Understanding and Minimising Outlier Features in Neural Network Training", None),
])
def test_last_first_pairs(line, expected):
    assert parse_last_first_line(line) == expected


# --- authorpage (001, 004) ------------------------------------------------------------------

PASCANU = [
    "No Representation, No Trust: Connecting Representation, Collapse, and Trust Issues in PPO",
    "RecurrentGemma: Moving Past Transformers for Efficient Open Language Models",
    "Maxwell's Demon at Work: Efficient Pruning by Leveraging Saturation of Neurons",
    "Revisiting Dynamic Evaluation: Online Adaptation for Large Language Models",
    "Griffin: Mixing Gated Linear Recurrences with Local Attention for Efficient Language Models",
    "Disentangling the Causes of Plasticity Loss in Neural Networks",
    "Fine-tuning Reinforcement Learning Models is Secretly a Forgetting Mitigation Problem",
    "Improving fine-grained understanding in image-text pre-training",
    "Discovering modular solutions that generalize compositionally",
    "Understanding plasticity in neural networks",
]
JAYAKUMAR = [
    ("Powerpropagation: A sparsity inducing weight reparameterisation", "cs.LG"),
    ("Top-KAST: Top-K Always Sparse Training", "cs.LG"),
    ("Perception-Prediction-Reaction Agents for Deep Reinforcement Learning", "cs.AI"),
    ("Stabilizing Transformers for Reinforcement Learning", "cs.AI"),
    ("Meta-learning of Sequential Strategies", "cs.LG"),
    ("Information asymmetry in KL-regularized RL", "cs.LG"),
    ("Distilling Policy Distillation", "cs.LG"),
    ("Adapting Auxiliary Losses Using Gradient Similarity", "cs.LG"),
    ("Mix&Match - Agent Curricula for Reinforcement Learning", "cs.LG"),
    ("Been There, Done That: Meta-Learning with Episodic Recall", "cs.AI"),
]
AUTHORPAGE = (
    [("001_a4323ca72a42ac54.txt", i, t, "Razvan Pascanu", "cs.AI", 6 + 7 * i) for i, t in enumerate(PASCANU)]
    + [("004_c5f8150dd4ef6c04.txt", i, t, "Siddhant M. Jayakumar", c, 8 + 7 * i)
       for i, (t, c) in enumerate(JAYAKUMAR)]
)


@pytest.mark.parametrize("page, i, title, owner, category, line", AUTHORPAGE)
def test_authorpage_records(page, i, title, owner, category, line):
    rec = records(page)[i]
    assert (rec.title, rec.authors, rec.authors_complete) == (title, [owner], False)
    assert (rec.date, rec.venue, rec.categories) == (None, "arXiv", [category])
    assert rec.sources[0].line == line and rec.sources[0].layout == "authorpage"


@pytest.mark.parametrize("page", ["001_a4323ca72a42ac54.txt", "004_c5f8150dd4ef6c04.txt"])
def test_authorpage_counts_and_no_errors(page):
    assert len(records(page)) == 10 and parsed(page).errors == []


def test_pdf_artefacts_removed_and_arxiv_id_taken_from_footnote():
    rec = records("004_c5f8150dd4ef6c04.txt")[3]
    assert rec.abstract.startswith("Owing to their ability")
    assert rec.arxiv_id == "1910.06764" and rec.id == "1910.06764"
    assert "Devlin et al., 2019; Yang et al., 2019)." in rec.abstract
    assert "for any decision often Yet, the RL literature is dominated" in rec.abstract
    for gone in ("BSTRACT", "Carnegie", "arXiv", "Y et", "Y ang"):
        assert gone not in rec.abstract


# --- catdate (002) --------------------------------------------------------------------------

AD, CR, AG = ["anthropic", "deepmind"], "John D. Co-Reyes", "Rishabh Agarwal"
CATDATE = [
    ("cs.LG", "2023-09-25", "Small-scale proxies for large-scale Transformer training instabilities",
     ["Mitchell Wortsman", "Peter J. Liu", "Lechao Xiao"], False, AD),
    ("cs.RO", "2023-10-12", "Waymax: An Accelerated, Data-Driven Simulator for Large-Scale Autonomous Driving Research",
     ["Cole Gulino", "Justin Fu", "Wenjie Luo"], False, []),
    ("cs.CL", "2023-10-16", "Improving Large Language Model Fine-tuning for Solving Math Problems",
     ["Yixin Liu", "Avi Singh", "C. Daniel Freeman"], False, []),
    ("cs.LG", "2022-04-08", "Evolving Pareto-Optimal Actor-Critic Algorithms for Generalizability and Stability",
     ["Juan Jose Garau-Luis", "Yingjie Miao", CR], False, []),
    ("cs.LG", "2023-12-11", "Beyond Human Data: Scaling Self-Training for Problem-Solving with Language Models",
     ["Avi Singh", CR, AG], False, AD),
    ("cs.LG", "2024-04-17", "Many-Shot In-Context Learning", [AG, "Avi Singh", "Lei M. Zhang"], False, ["mila"]),
    ("cs.LG", "2024-02-08", "Guided Evolution with Binary Discriminators for ML Program Search",
     [CR, "Yingjie Miao", "George Tucker"], False, []),
    ("cs.LG", "2021-12-07", "Information is Power: Intrinsic Control via Information Capture",
     ["Nicholas Rhinehart", "Jenny Wang", "Glen Berseth"], False, []),
    ("cs.LG", "2021-06-04", "Differentiable Architecture Search for Reinforcement Learning",
     ["Yingjie Miao", "Xingyou Song", CR], False, []),
    ("cs.LG", "2021-01-08", "Evolving Reinforcement Learning Algorithms", [CR, "Yingjie Miao", "Daiyi Peng"], False, []),
    ("cs.LG", "2020-06-22", "Ecological Reinforcement Learning", [CR, "Suvansh Sanjeev", "Glen Berseth"], False, []),
    ("cs.LG", "2019-10-28", "Entity Abstraction in Visual Model-Based Reinforcement Learning",
     ["Rishi Veerapaneni", CR, "Michael Chang"], False, []),
    ("cs.LG", "2018-11-19", "Guiding Policies with Language via Meta-Learning",
     [CR, "Abhishek Gupta", "Suvansh Sanjeev"], False, []),
    ("cs.LG", "2018-06-07",
     "Self-Consistent Trajectory Autoencoder: Hierarchical Reinforcement Learning with Trajectory Embeddings",
     [CR, "YuXuan Liu", "Abhishek Gupta"], False, []),
    ("cs.LG", "2017-03-03", "EX2: Exploration with Exemplar Models for Deep Reinforcement Learning",
     ["Justin Fu", CR, "Sergey Levine"], True, []),
]


@pytest.mark.parametrize("i", range(len(CATDATE)))
def test_catdate_records(i):
    rec = records("002_c1de83a5afe8dc88.txt")[i]
    category, date, title, authors, complete, affiliations = CATDATE[i]
    assert (rec.title, rec.authors, rec.authors_complete) == (title, authors, complete)
    assert (rec.date, rec.venue, rec.categories, rec.affiliations) == (date, "arXiv", [category], affiliations)
    assert rec.sources[0].line == 1 + 3 * i and rec.sources[0].layout == "catdate"


def test_catdate_count_and_no_errors():
    assert len(records("002_c1de83a5afe8dc88.txt")) == 15
    assert parsed("002_c1de83a5afe8dc88.txt").errors == []


@pytest.mark.parametrize("line, expected", [
    ("LGSep 25, 2023", ("cs.LG", "2023-09-25")),
    ("ROOct 12, 2023", ("cs.RO", "2023-10-12")),
    ("CLOct 16, 2023", ("cs.CL", "2023-10-16")),
    ("CVMar 1, 2022", ("cs.CV", "2022-03-01")),
    ("Sep 25, 2023", (None, "2023-09-25")),
    ("LGSep 31, 2023", None),
    ("Small-scale proxies", None),
])
def test_glued_category_and_date(line, expected):
    assert catdate.parse_catdate(line) == expected


@pytest.mark.parametrize("line, expected", [
    ("Many-Shot In-Context LearningRishabh Agarwal, Avi Singh, Lei M. Zhang et al. · mila",
     ("Many-Shot In-Context Learning", [AG, "Avi Singh", "Lei M. Zhang"], False, ["mila"], True)),
    ("RecurrentGemma at ScaleJane Doe, John Smith",
     ("RecurrentGemma at Scale", ["Jane Doe", "John Smith"], True, [], True)),
    ("Offline Learning in RLJohn Smith et al.", ("Offline Learning in RL", ["John Smith"], False, [], True)),
    ("A title with no author names at all", ("A title with no author names at all", [], False, [], False)),
])
def test_byline_split_et_al_and_affiliations(line, expected):
    assert catdate.parse_byline(line) == expected


# --- seemore (003) --------------------------------------------------------------------------

SEEMORE_PAGE = "003_ee65fb6764ce95d4.txt"
SEEMORE = [  # (line, abstract opening, truncated)
    (11, "The recently proposed Forgetting Transformer (FoX)", True),
    (13, "Scaling deep reinforcement learning networks", False),
    (14, "Scaling deep reinforcement learning networks", False),
    (15, "Off-policy deep reinforcement learning (RL)", False),
    (16, "Off-policy deep reinforcement learning (RL)", False),
    (17, "Scaling deep reinforcement learning networks", False),
    (18, "The use of deep neural networks in reinforcement learning (RL)", False),
    (19, "Recent work has shown that deep reinforcement learning agents", False),
]


@pytest.mark.parametrize("i", range(len(SEEMORE)))
def test_seemore_records(i):
    rec = records(SEEMORE_PAGE)[i]
    line, opening, truncated = SEEMORE[i]
    assert (rec.title, rec.authors, rec.authors_complete, rec.categories) == (None, [], False, [])
    assert rec.abstract.startswith(opening) and rec.sources[0].line == line
    assert rec.sources[0].truncated is truncated and rec.sources[0].layout == "seemore"
    if i < len(SEEMORE) - 1:
        assert (rec.date, rec.venue) == (None, None)


def test_seemore_counts_repeats_and_skips_chrome():
    recs, result = records(SEEMORE_PAGE), parsed(SEEMORE_PAGE)
    assert len(recs) == 8 and len({r.abstract for r in recs}) == 5 and result.errors == []
    assert not any("cookie" in r.abstract.lower() for r in recs)


def test_seemore_trailing_date_and_venue_belong_to_last_record():
    last = records(SEEMORE_PAGE)[-1]
    assert last.date == "2024-07-08"
    assert last.venue == "Proceedings of the 41st International Conference on Machine Learning"
    assert last.abstract.endswith("see Appendix A for details.")


def test_seemore_fox_abstract_spans_two_lines_and_is_truncated():
    fox = records(SEEMORE_PAGE)[0]
    assert "weights are negligible. We apply ACP to language model pretraining" in fox.abstract
    assert fox.abstract.endswith("(or a 2--3") and fox.truncated


@pytest.mark.parametrize("i, repaired", [
    (0, "better or on-par performance"),
    (1, "causes of this failure mode remain poorly understood"),
    (3, "This can help improve sample efficiency"),
    (6, "While soft mixtures of experts"),
    (7, "We leverage prior insights"),
])
def test_see_more_cut_words_repaired(i, repaired):
    abstract = records(SEEMORE_PAGE)[i].abstract
    assert repaired in abstract and "see more" not in abstract and "…" not in abstract


# --- LaTeX and markup cleanup on the seeds --------------------------------------------------

@pytest.mark.parametrize("page, i, expected", [
    ("001_a4323ca72a42ac54.txt", 2, "the phenomenon of dying neurons –units that become inactive"),
    ("001_a4323ca72a42ac54.txt", 2, "output zero during training– has traditionally"),
    ("001_a4323ca72a42ac54.txt", 5, "trained on a stationary data distribution"),
    ("001_a4323ca72a42ac54.txt", 5, "e.g. deep reinforcement learning"),
    ("001_a4323ca72a42ac54.txt", 6, "best score from 5K to over 10K points"),
    ("002_c1de83a5afe8dc88.txt", 4, "Fine-tuning language models (LMs) on human-generated data"),
    ("003_ee65fb6764ce95d4.txt", 0, "around 70% across different model sizes"),
    ("003_ee65fb6764ce95d4.txt", 0, "our method performs provably safe pruning"),
    ("003_ee65fb6764ce95d4.txt", 7, "pruning enables value-based agents"),
    ("004_c5f8150dd4ef6c04.txt", 2, "The reaction core incorporates"),
])
def test_latex_and_markdown_cleaned(page, i, expected):
    abstract = records(page)[i].abstract
    assert expected in abstract
    assert not any(c in abstract for c in "\\$*{}~")


# --- sniffing -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_page_claimed_only_by_its_layout(name):
    path = SAMPLE / name
    head = path.read_text(encoding="utf-8")
    assert [m.NAME for m in LAYOUTS if m.sniff(path, head)] == [PAGES[name].NAME]


@pytest.mark.parametrize("text", [
    "This is a plain prose note.\nIt talks about papers, but it has no layout at all.\n" * 5,
    "# README\n\nInstall with pip.\n\n## Usage\n\nRun `rag ingest`.\n",
    "\n".join(str(n) for n in range(200)),
    "Smith, John\n" * 3,
    "",
])
def test_unknown_pages_not_claimed(text, tmp_path):
    assert [m.NAME for m in LAYOUTS if m.sniff(tmp_path / "x.txt", text)] == []


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("text", ["", "\n\n", "$\\{", "LGSep 25, 2023\n", "… (see more)" * 50, "a, b\n" * 9])
def test_parsers_never_raise_on_garbage(layout, text, tmp_path):
    result = layout.parse(tmp_path / "g.txt", text)
    assert all(r.sources[0].layout == layout.NAME for r in result.records)


# --- the same rules on pages that are not the seeds -----------------------------------------

ABSTRACT = "We study a new method for learning that works well on many benchmarks and is simple to use."


def test_lastfirst_rules_generalise(tmp_path):
    page = f"menu menu menu\nA Title, Please\nDe la Cruz, María, O'Brien, Seán\n{ABSTRACT * 2}\n"
    result = lastfirst.parse(tmp_path / "p.txt", page)
    assert lastfirst.sniff(tmp_path / "p.txt", page) and result.errors == []
    assert [(r.title, r.authors) for r in result.records] == [
        ("A Title, Please", ["María De la Cruz", "Seán O'Brien"])]


def test_authorpage_rules_generalise(tmp_path):
    page = f"Home\n\n• Doe, Jane Q.\n\nRobot Hands\n\narXiv.org Robotics\n\n{ABSTRACT * 3}\n"
    rec, = authorpage.parse(tmp_path / "p.txt", page).records
    assert (rec.title, rec.authors, rec.categories, rec.sources[0].line) == (
        "Robot Hands", ["Jane Q. Doe"], ["cs.RO"], 5)


def test_seemore_rules_generalise(tmp_path):
    page = ("Accept all cookies\nNewsletter\nWhy register?\n"
            f"{ABSTRACT} It helps a lo… (see more)t more than\n2023-01-02\nNeurIPS 2023 (accepted)\n")
    rec, = seemore.parse(tmp_path / "p.txt", page).records
    assert rec.abstract.endswith("It helps a lot more than") and rec.sources[0].truncated
    assert (rec.date, rec.venue, rec.sources[0].line) == ("2023-01-02", "NeurIPS 2023", 4)


@pytest.mark.parametrize("page, layout", [
    (f"Doe, Jane\n\nA Title\n\narXiv.org Robotics\n\n{ABSTRACT} It is a… (see more)lso {ABSTRACT}\n", authorpage),
    (f"A Title\nDoe, Jane\n{ABSTRACT} It is a… (see more)lso {ABSTRACT}\n", lastfirst),
])
def test_teaser_inside_another_layout_is_not_claimed_by_seemore(page, layout, tmp_path):
    assert [m.NAME for m in LAYOUTS if m.sniff(tmp_path / "p.txt", page)] == [layout.NAME]
