"""The documentation is built and checked against the code, so it cannot rot."""

from __future__ import annotations

import argparse
import importlib
import re
import tomllib
import warnings
from pathlib import Path

import pytest

import deid
from deid import regulation
from deid.cli import build_parser
from deid.report import schema
from deid.text.recognizers import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def api_modules() -> list[str]:
    """The modules `make docs` documents (one list, in the Makefile)."""
    text = (ROOT / "Makefile").read_text("utf-8")
    m = re.search(r"^API_MODULES\s*:?=\s*((?:.*\\\n)*.*)$", text, re.M)
    assert m, "Makefile defines API_MODULES"
    return m[1].replace("\\", " ").split()


def test_api_reference_builds_without_warnings(tmp_path: Path) -> None:
    import pdoc

    modules = api_modules()
    assert {"deid", "deid.pipeline", "deid.composer", "deid.consent", "deid.report"} <= set(modules)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pdoc reports import and doc problems as warnings
        pdoc.pdoc(*modules, output_directory=tmp_path)
    for name in modules:
        page = tmp_path / (name.replace(".", "/") + ".html")
        assert page.is_file(), name
    composer = (tmp_path / "deid/composer.html").read_text("utf-8")
    assert 'id="Mouth"' in composer and 'id="compose"' in composer


def _references(text: str) -> set[str]:
    return set(re.findall(r"`~?(deid(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text))


def _resolves(ref: str) -> bool:
    parts = ref.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_every_deid_reference_in_docs_and_docstrings_resolves() -> None:
    texts = [p.read_text("utf-8") for p in DOCS.glob("*.md")]
    texts.append((ROOT / "README.md").read_text("utf-8"))
    for name in api_modules():
        module = importlib.import_module(name)
        texts.append(module.__doc__ or "")
        for value in vars(module).values():
            if getattr(value, "__module__", None) == name:
                texts.append(getattr(value, "__doc__", None) or "")
    refs = set().union(*(_references(t) for t in texts))
    assert "deid.report.schema" in refs or refs  # there are references to check
    broken = sorted(r for r in refs if not _resolves(r))
    assert broken == [], f"documented names that do not exist: {broken}"


def test_relative_links_resolve() -> None:
    pages = [*DOCS.glob("*.md"), ROOT / "README.md"]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text("utf-8")):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def _options(parser: argparse.ArgumentParser) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = {o for a in sub._actions for o in a.option_strings} - {"-h", "--help"}
    return found


def test_cli_reference_covers_every_command_and_option() -> None:
    text = (DOCS / "cli.md").read_text("utf-8")
    for command, options in _options(build_parser()).items():
        assert f"deid {command}" in text, command
        for option in options:
            assert f"`{option}" in text, f"deid {command} {option} is not documented"
    exit_codes = re.findall(r"^\| `(\d+)` \|", text, re.M)
    assert exit_codes == ["0", "1", "2", "3", "130"]


def test_configuration_reference_is_exactly_the_defaults() -> None:
    text = (DOCS / "cli.md").read_text("utf-8")
    block = re.search(r"```toml\n(.*?)```", text, re.S)
    assert block
    documented = deid.Config.from_mapping(tomllib.loads(block[1]))
    # Every setting is listed with its real default: from_mapping refuses unknown
    # keys, and equality catches a missing key or a changed default.
    assert documented == deid.Config(), "docs/cli.md's settings block differs from Config()"
    listed = tomllib.loads(block[1])
    for section, fields in deid.Config().to_dict().items():
        if isinstance(fields, dict):
            assert set(listed[section]) == set(fields), section
        else:
            assert section in listed


def _schema_properties(node: object, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in (node.get("properties") or {}).items():
            found.add(key)
            _schema_properties(value, found)
        for value in node.values():
            if isinstance(value, dict | list):
                _schema_properties(value, found)
    elif isinstance(node, list):
        for value in node:
            _schema_properties(value, found)
    return found


def test_report_reference_covers_every_schema_field() -> None:
    from deid.composer import schema as composite_schema

    text = (DOCS / "report.md").read_text("utf-8")
    for name in sorted(_schema_properties(schema(), set()) |
                       _schema_properties(composite_schema(), set())):  # fmt: skip
        assert f"`{name}`" in text, f"report field {name} is not documented"


@pytest.mark.parametrize("page", ["README.md", "docs/report.md"])
def test_regulation_tables_are_the_code_s(page: str) -> None:
    text = (ROOT / page).read_text("utf-8")
    for table in (regulation.recogniser_table(), regulation.metadata_table()):
        assert table in text, f"{page}: regenerate with python -m deid.regulation"
    for title, _ in regulation.RESIDUAL_RISKS:
        assert title in text
    # Every kind of PHI deid reports has its row.
    rows = {r[0] for r in regulation.recogniser_rows()}
    assert set(REGISTRY) <= rows
    for category in deid.metadata.CATEGORIES:
        assert f"| `{category}` |" in text


def test_hipaa_letters_are_the_eighteen() -> None:
    assert list(regulation.HIPAA_IDENTIFIERS) == [chr(c) for c in range(ord("A"), ord("S"))]
    for _, _, hipaa, _ in regulation.recogniser_rows():
        letter = hipaa.split()[0]
        assert letter in regulation.HIPAA_IDENTIFIERS or hipaa.startswith(("as ", "any", "that"))


def test_api_page_examples_run() -> None:
    """Every python block of docs/api.md, in order, in one namespace."""
    text = (DOCS / "api.md").read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    namespace: dict[str, object] = {"__name__": "docs_api"}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)
