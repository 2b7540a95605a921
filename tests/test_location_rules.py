"""Where a store lives: a location that names no store is refused under its rule, with
``E_INVALIDARG``, before anything is made."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from peerstate import open_store
from peerstate.errors import ErrorName, PeerError
from peerstate.registry import RULES
from peerstate.storage import locations, opening


def _refused(rule: str, code: ErrorName, call: Callable[[], object]) -> PeerError:
    with pytest.raises(PeerError) as caught:
        call()
    assert (caught.value.rule, caught.value.name) == (rule, code), caught.value
    assert code in RULES[rule].codes
    return caught.value


@pytest.mark.parametrize("schema", ["Not_Plain", "a-b", "1st", "x" * 64])
def test_a_schema_that_is_not_a_plain_name_is_refused(schema: str) -> None:
    location = f"postgresql://user@localhost/db?schema={schema}"
    _refused("schema_is_a_plain_name", "E_INVALIDARG", lambda: locations.schema_of(location))
    _refused("schema_is_a_plain_name", "E_INVALIDARG", lambda: open_store(location))
    assert locations.schema_of("postgresql://user@localhost/db?schema=" + "x" * 63) == "x" * 63


def test_a_postgres_url_without_a_database_is_refused() -> None:
    for location in ("postgresql://user@localhost", "postgresql://user@localhost/"):
        error = _refused("url_names_a_database", "E_INVALIDARG", lambda: locations.postgres_environment(location))
        assert error.message == f"{location!r} names no database"
        _refused("url_names_a_database", "E_INVALIDARG", lambda: open_store(location))


def test_the_environment_without_persistence_module_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PERSISTENCE_MODULE", raising=False)
    monkeypatch.setenv("SQLITE_DBNAME", str(tmp_path / "peer.sqlite3"))
    _refused("environment_names_a_store", "E_INVALIDARG", opening._environment_settings)
    _refused("environment_names_a_store", "E_INVALIDARG", lambda: open_store(locations.FROM_ENVIRONMENT))
    assert list(tmp_path.iterdir()) == []
