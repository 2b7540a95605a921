"""A pytest plugin (entry point ``pytest11``): scenario files are tests, so a project keeps
its expected Peer Grouping behaviour as data and plain ``pytest`` replays it.

Files named ``*.scenario.json`` are collected wherever pytest looks; every ``*.json`` file
under a directory named by ``--peerstate-scenarios DIR`` or the ini option
``peerstate_scenarios`` is collected too. One test per file, ``<path>::replay``: its setup
loads the file (an invalid file is an error naming the key path, as ``peerstate replay``
reports it), its call replays it in memory, or with ``--peerstate-store DIR_OR_URL`` on a
store of its own under that location, and fails with one line per failed step.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from peerstate.storage.locations import is_postgres
from peerstate.scenario import Scenario, ScenarioFileError, StepResult, load_scenario, replay, stores_of_file
from peerstate.scenario.model import CallStep

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr, TracebackStyle  # not exported by pytest

SUFFIX: Final = ".scenario.json"
ITEM_NAME: Final = "replay"
_DIRECTORIES: Final = pytest.StashKey[tuple[Path, ...]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("peerstate", "peerstate scenario files")
    group.addoption(
        "--peerstate-scenarios", action="append", default=[], metavar="DIR",
        help="also collect every *.json scenario file under DIR (may be repeated)",
    )
    group.addoption(
        "--peerstate-store", metavar="DIR_OR_URL",
        help="replay each scenario file on stores under DIR (SQLite) or a PostgreSQL URL, "
        "in a sub-location of its own named after the file; default: in memory",
    )
    parser.addini(
        "peerstate_scenarios", type="linelist", default=[],
        help="directories (relative to the rootdir) whose *.json scenario files are collected "
        "whenever testpaths would be",
    )


def _absolute(base: Path, text: str) -> Path:
    """As pytest makes its own paths absolute (without resolving links), so that the paths
    it collects can be compared with these."""
    return Path(os.path.abspath(base / text))


def pytest_configure(config: pytest.Config) -> None:
    """Note the scenario directories, and add those pytest does not already walk to its
    arguments. The ini option's directories are added, like testpaths, only when pytest runs
    from the rootdir without path arguments, so that running one test module does not replay
    every scenario; those given on the command line always are."""
    here = config.invocation_params.dir
    from_ini = [_absolute(config.rootpath, line) for line in config.getini("peerstate_scenarios")]
    from_command_line = [_absolute(here, text) for text in config.getoption("peerstate_scenarios")]
    config.stash[_DIRECTORIES] = (*from_ini, *from_command_line)
    like_testpaths = config.args_source is not pytest.Config.ArgsSource.ARGS and here == config.rootpath
    added = [*from_ini, *from_command_line] if like_testpaths else from_command_line
    # pytest 8 loses files when an argument lies below another.
    walked = [_absolute(here, argument.partition("::")[0]) for argument in config.args]
    for directory in added:
        if not any(directory == path or path in directory.parents for path in walked):
            config.args.append(str(directory))
            walked.append(directory)


def scenario_directories(config: pytest.Config) -> tuple[Path, ...]:
    """The absolute directories whose ``*.json`` files are scenario files for this run."""
    return config.stash[_DIRECTORIES]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    if file_path.name.endswith(SUFFIX) or (
        file_path.suffix == ".json"
        and any(directory in file_path.parents for directory in scenario_directories(parent.config))
    ):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """A scenario file: it is replayed whole, so it holds one test."""

    def collect(self) -> Iterator[ScenarioItem]:
        yield ScenarioItem.from_parent(self, name=ITEM_NAME)


class ScenarioFailure(Exception):
    """The failed steps of a replay: ``str`` is the report, each failed step's own line
    (as ``peerstate replay`` prints it: file, step, peer, call, HRESULT, what differed) and,
    for a call, what the file expected of it."""

    def __init__(self, scenario: Scenario, failed: list[StepResult], store: Path | str | None) -> None:
        super().__init__(scenario, failed, store)
        self.scenario = scenario
        self.failed = failed
        self.store = store

    def __str__(self) -> str:
        where = "in memory" if self.store is None else f"on the stores under {self.store}"
        lines = [f"{len(self.failed)} of {len(self.scenario.steps)} steps failed, replayed {where}:"]
        for result in self.failed:
            lines.append(str(result))
            step = self.scenario.steps[result.index]
            if isinstance(step, CallStep):
                checks = f" and checks {json.dumps(step.check, ensure_ascii=False)}" if step.check else ""
                lines.append(f"    the file expects {step.expect}{checks}")
        return "\n".join(lines)


@contextmanager
def _file_errors_reported() -> Iterator[None]:
    """A ``ScenarioFileError`` is the file's fault (or its store's), not the plugin's: it is
    reported by its message, which names the file and the key path, without a traceback."""
    try:
        yield
    except ScenarioFileError as error:
        raise pytest.fail.Exception(str(error), pytrace=False) from None


class ScenarioItem(pytest.Item):
    """Replays its file. The file is loaded at setup, so an invalid file is an error of
    its own test (pytest's ERROR, as exit status 2 is for ``peerstate replay``) and every
    other file still runs; failed steps fail the test."""

    _scenario: Scenario

    def setup(self) -> None:
        with _file_errors_reported():
            self._scenario = load_scenario(self.path)

    def _store_root(self) -> Path | str | None:
        """A sub-location of ``--peerstate-store`` for this file alone, named after its path
        (from the rootdir when it is below it), so no two files share a store."""
        option: str | None = self.config.getoption("peerstate_store")
        if option is None:
            return None
        root = option if is_postgres(option) else _absolute(self.config.invocation_params.dir, option)
        top = self.config.rootpath if self.path.is_relative_to(self.config.rootpath) else Path(self.path.anchor)
        return stores_of_file(root, self.path, top)

    def runtest(self) -> None:
        store = self._store_root()
        with _file_errors_reported():
            results = replay(self._scenario, store_root=store)
        failed = [result for result in results if not result.passed]
        if failed:
            raise ScenarioFailure(self._scenario, failed, store)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: TracebackStyle | None = None
    ) -> str | TerminalRepr:
        """The report of the failed steps alone: a traceback through the plugin would
        say nothing about the scenario."""
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, self.nodeid
