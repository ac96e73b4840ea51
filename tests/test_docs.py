"""The README must match the code: every setting documented with its real default."""

from pathlib import Path

from rag.settings import describe_settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_configuration_table_matches_settings():
    for name, default, description in describe_settings():
        assert f"| `{name}` | `{default}` | {description} |" in README, name


def test_readme_test_command_is_what_ci_runs():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert ".venv/bin/python -m pytest -q" in README
    assert ci.rstrip().endswith(".venv/bin/python -m pytest -q")
