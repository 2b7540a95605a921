"""The documentation in ``docs/`` runs, and its reference tables agree with the code.

For each ``docs/*.md`` file, one test runs its examples in order, in one namespace, in a
temporary directory that holds a copy of the repository's ``examples/``:

- a fenced block of language ``python`` is executed;
- a fenced block of language ``python`` or ``pycon`` whose first line starts with ``>>>`` is
  a doctest (``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``), run in that same namespace;
- a fenced ``sh`` block placed right after the comment ``<!-- test: run -->`` has each of
  its lines that start with ``peerstate`` run through ``peerstate.cli.main``, which must
  return 0 (other shell blocks, such as installation commands, are shown, not run);
- a fenced block placed right after ``<!-- test: file PATH -->`` must be exactly the
  repository's file at ``PATH``.

The Python examples of each page, put together in order as one module, pass ``mypy --strict``
as a user's code would, with peerstate installed (its own modules are not checked there).

More tests hold the tables to the code: ``docs/hresults.md`` lists exactly the HRESULTS
of ``peerstate/errors.py`` (name, value and meaning, in the same order),
``docs/windows-mapping.md`` names every function of the APIs (``tests/facts/windows-p2p.json``) and of
``peerstate.winapi``, with the status the code gives it, and ``docs/security.md``'s table of
bounds has every constant of ``peerstate/bounds.py``, with its value.
"""

from __future__ import annotations

import doctest
import io
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from reference_facts import functions as reference_functions

from peerstate import Peer, bounds, cli, winapi
from peerstate.errors import HRESULTS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
_FENCE = re.compile(r"^```([\w-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*test:\s*(.*?)\s*-->$")


@attrs.frozen
class Block:
    """A fenced code block: its language, its text, the line its text starts on (1-based)
    and the ``<!-- test: ... -->`` marker right before its fence, if any."""

    language: str
    text: str
    line: int
    marker: str | None

    @property
    def is_doctest(self) -> bool:
        return self.language in ("python", "pycon") and self.text.lstrip().startswith(">>>")


def blocks(text: str) -> Iterator[Block]:
    """The fenced blocks of a Markdown text, in order."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        before = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
        marker = _MARKER.match(before)
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"the code block opened on line {index + 1} is never closed")
        yield Block(opening[1], "\n".join(lines[index + 1 : end]) + "\n", index + 2, marker[1] if marker else None)
        index = end + 1


def doc_files() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _run_python(block: Block, path: Path, namespace: dict[str, Any]) -> None:
    # Blank lines in front keep the line numbers of a traceback those of the Markdown file.
    code = compile("\n" * (block.line - 1) + block.text, str(path), "exec")
    exec(code, namespace)  # noqa: S102  # the documentation's own examples


def _run_doctest(block: Block, path: Path, namespace: dict[str, Any]) -> None:
    test = doctest.DocTestParser().get_doctest(block.text, namespace, f"{path.name}:{block.line}", str(path), block.line - 1)
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
    result = runner.run(test, out=report.write, clear_globs=False)
    namespace.update(test.globs)  # what the examples defined, for the blocks after them
    assert result.failed == 0, f"{path.name}, the examples from line {block.line}:\n{report.getvalue()}"


def _run_shell(block: Block, path: Path) -> None:
    for offset, line in enumerate(block.text.splitlines()):
        words = shlex.split(line, comments=True)
        if words[:1] == ["peerstate"]:
            status = cli.main(words[1:])
            assert status == 0, f"{path.name}, line {block.line + offset}: `{line}` exited with {status}"


@pytest.mark.parametrize("path", doc_files(), ids=lambda path: path.name)
def test_the_examples_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if EXAMPLES.is_dir():
        shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": f"docs.{path.stem}"}
    for block in blocks(path.read_text(encoding="utf-8")):
        if block.marker is not None and block.marker.startswith("file "):
            expected = ROOT / block.marker.removeprefix("file ").strip()
            assert block.text == expected.read_text(encoding="utf-8"), (
                f"{path.name}, line {block.line}: the block is not the file {expected.relative_to(ROOT)}"
            )
        if block.is_doctest:
            _run_doctest(block, path, namespace)
        elif block.language == "python":
            _run_python(block, path, namespace)
        elif block.language == "sh" and block.marker == "run":
            _run_shell(block, path)


def as_module(text: str) -> str:
    """A page's Python examples as one module, each line of code on its line of the page (so
    that mypy's line numbers are the page's): plain blocks whole, doctests' sources."""
    lines = [""] * len(text.splitlines())
    for block in blocks(text):
        if block.is_doctest:
            for example in doctest.DocTestParser().get_examples(block.text):
                source = example.source.splitlines()
                lines[block.line - 1 + example.lineno : block.line - 1 + example.lineno + len(source)] = source
        elif block.language == "python":
            source = block.text.splitlines()
            lines[block.line - 1 : block.line - 1 + len(source)] = source
    return "\n".join(lines) + "\n"


def test_the_examples_pass_mypy_strict(tmp_path: Path) -> None:
    import peerstate

    modules = []
    for path in doc_files():
        module = tmp_path / f"{path.stem.replace('-', '_')}.py"
        module.write_text(as_module(path.read_text(encoding="utf-8")), encoding="utf-8")
        modules.append(module.name)
    (tmp_path / "mypy.ini").write_text(
        f"[mypy]\nstrict = True\nmypy_path = {Path(peerstate.__file__).parents[1]}\n"
        "[mypy-peerstate.*]\nfollow_imports = silent\n",  # as an installed package: used, not checked
        encoding="utf-8",
    )
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", str(tmp_path / "cache"), *modules],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    report = checked.stdout.replace(f"{tmp_path}/", "")
    assert checked.returncode == 0, f"the docs' examples fail mypy --strict (page.py:N is docs/page.md line N):\n{report}"


def test_the_rule_index_lists_every_registered_rule_under_each_of_its_codes() -> None:
    """``docs/rules.md`` is the registry's (``tests/rules_index.py`` writes it): a rule added,
    renamed, moved or given another HRESULT without writing the page again fails here."""
    from rules_index import _file  # the generator's own reading of a rule's file

    from peerstate.registry import RULES

    listed: set[tuple[str, str, str]] = set()
    code = None
    for line in (DOCS / "rules.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## `(\w+)`", line)
        if heading:
            code = heading[1]
        row = re.match(r"^\| `(\w+)` \| `([^`]+)` \|", line)
        if row:
            listed.add((str(code), row[1], row[2]))
    registered = {(code, rule.name, _file(rule)) for rule in RULES.values() for code in rule.codes}
    assert listed == registered, f"not on the page: {sorted(registered - listed)}; not registered: {sorted(listed - registered)}"


def test_docs_exist() -> None:
    names = {path.name for path in doc_files()}
    assert {
        "index.md", "concepts.md", "windows-mapping.md", "hresults.md", "stores.md", "security.md", "scenario-format.md",
        "architecture.md",
    } <= names


def test_the_example_scenarios_replay(capsys: pytest.CaptureFixture[str]) -> None:
    assert (EXAMPLES / "scenarios" / "first.scenario.json").is_file()
    assert cli.main(["replay", str(EXAMPLES / "scenarios")]) == 0
    assert " 0 failed" in capsys.readouterr().out


# The HRESULT table ------------------------------------------------------------------------------

def _table_rows(text: str) -> Iterator[list[str]]:
    """The cells of every row of the Markdown tables in ``text``, header and rule rows left out."""
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if all(re.fullmatch(r":?-+:?", cell) for cell in cells):
            continue
        yield [cell.replace("\\|", "|") for cell in cells]


def hresult_rows() -> list[tuple[str, int, str, str]]:
    """(name, value, meaning, when) of each row of docs/hresults.md whose first cell is a code name."""
    rows = []
    for cells in _table_rows((DOCS / "hresults.md").read_text(encoding="utf-8")):
        name = re.fullmatch(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        if name is not None:
            assert len(cells) == 4, cells
            rows.append((name[1], int(cells[1], 16), cells[2], cells[3]))
    return rows


def test_the_hresult_table_is_the_code_s() -> None:
    rows = hresult_rows()
    assert [(name, value, meaning) for name, value, meaning, _ in rows] == [
        (result.name, result.value, result.meaning) for result in HRESULTS.values()
    ]
    assert all(when for *_, when in rows), "every HRESULT says when peerstate returns it"


# The table of bounds -------------------------------------------------------------------------


def bound_rows() -> dict[str, list[str]]:
    """The rows of docs/security.md's table of bounds, by constant: the rows of the section
    that holds it whose first cell names a constant."""
    text = (DOCS / "security.md").read_text(encoding="utf-8")
    section = text.split("\n## The threat, and the table of bounds\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for cells in _table_rows(section):
        name = re.fullmatch(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        if name is not None:
            assert name[1] not in rows, f"{name[1]} has two rows"
            assert len(cells) == 4 and all(cells), cells
            rows[name[1]] = cells
    return rows


def test_the_table_of_bounds_is_the_code_s() -> None:
    """Every constant of ``peerstate/bounds.py`` has its row, with its value, what it bounds
    and why; no row names another."""
    constants = {name: value for name, value in vars(bounds).items() if name.isupper() and type(value) is int}
    rows = bound_rows()
    assert set(rows) == set(constants), (
        f"not in docs/security.md: {sorted(set(constants) - set(rows))}; not in bounds.py: {sorted(set(rows) - set(constants))}"
    )
    differ = {name: (cells[1], constants[name]) for name, cells in rows.items() if int(cells[1].replace(",", "")) != constants[name]}
    assert not differ, f"values the page gives otherwise than bounds.py (page, code): {differ}"


def test_the_check_of_the_table_of_bounds_sees_a_value_that_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "MAX_ROLES", 4)
    with pytest.raises(AssertionError, match="MAX_ROLES"):
        test_the_table_of_bounds_is_the_code_s()
    monkeypatch.setattr(bounds, "MAX_NEW_BOUND", 1, raising=False)
    with pytest.raises(AssertionError, match="not in docs/security.md: \\['MAX_NEW_BOUND'\\]"):
        test_the_table_of_bounds_is_the_code_s()


# The function map ----------------------------------------------------------------------------

STATUSES = ("supported", "not yet", "not applicable")


def mapping_rows() -> dict[str, list[str]]:
    """The rows of docs/windows-mapping.md's table, by function name."""
    rows: dict[str, list[str]] = {}
    for cells in _table_rows((DOCS / "windows-mapping.md").read_text(encoding="utf-8")):
        name = re.fullmatch(r"`(Peer\w+)`", cells[0])
        if name is not None:
            assert name[1] not in rows, f"{name[1]} has two rows"
            rows[name[1]] = cells
    return rows


def test_the_map_names_every_function() -> None:
    rows = mapping_rows()
    missing = (set(reference_functions()) | winapi.ALL_FUNCTIONS | set(winapi.FUNCTIONS)) - set(rows)
    assert not missing, f"docs/windows-mapping.md does not name {sorted(missing)}"
    stray = set(rows) - set(reference_functions()) - winapi.ALL_FUNCTIONS
    assert not stray, f"docs/windows-mapping.md names functions of no list: {sorted(stray)}"


def _status_in_code(function: str) -> str:
    if function in winapi.FUNCTIONS:
        return "supported"
    return "not yet" if function in winapi.ALL_FUNCTIONS else "not applicable"


def test_each_status_is_the_code_s() -> None:
    for function, cells in mapping_rows().items():
        assert cells[1] in STATUSES, f"{function}: status {cells[1]!r} is not one of {STATUSES}"
        assert cells[1] == _status_in_code(function), f"{function} is {_status_in_code(function)} in the code, not {cells[1]}"


def test_peer_s_public_names_are_the_page_s_and_each_says_what_it_does() -> None:
    """``Peer`` holds the API and nothing else: no name the page does not pair with a
    function or list beyond ``p2p.h``, and a docstring on each."""
    text = (DOCS / "windows-mapping.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`Peer\.(\w+)`", text))
    public = {name for name in dir(Peer) if not name.startswith("_")}
    assert public == named, f"on Peer, not on the page: {sorted(public - named)}; on the page, not on Peer: {sorted(named - public)}"
    assert not [name for name in public if not getattr(Peer, name).__doc__], "every public name of Peer has a docstring"


def test_each_named_call_exists() -> None:
    for function, cells in mapping_rows().items():
        methods = re.findall(r"`Peer\.(\w+)", cells[2])
        names = re.findall(r"`winapi\.(\w+)", cells[3])
        if cells[1] == "supported":
            assert methods, f"{function}: no Peer method named"
            assert names == [function], f"{function}: the winapi cell names {names}"
        for method in methods:
            assert callable(getattr(Peer, method, None)), f"{function}: Peer has no method {method}"
        for name in names:
            assert name in winapi.FUNCTIONS and callable(getattr(winapi, name, None)), f"{function}: winapi has no {name}"
