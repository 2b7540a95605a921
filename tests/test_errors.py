"""Every HRESULT against the header's values (``tests/facts/windows-p2p.json``), and the
exception that carries them."""

from __future__ import annotations

import pytest
from reference_facts import hresults as reference_codes

from peerstate import errors


@pytest.mark.parametrize(("name", "value"), sorted(reference_codes().items()))
def test_every_reference_code_has_its_header_value(name: str, value: int) -> None:
    assert errors.by_name(name).value == value


def test_nothing_beyond_the_reference_but_the_file_errors_passed_through() -> None:
    passed_through = {name for name, _, _ in errors.PASSED_THROUGH}
    assert not passed_through & set(reference_codes())
    assert set(errors.HRESULTS) == set(reference_codes()) | passed_through


def test_lookup_by_value_prefers_the_first_declared_name() -> None:
    assert errors.by_value(0x80070006).name == "E_HANDLE"
    assert errors.by_value(0x806320A0).name == "PEER_E_IDENTITY_DELETED"
    assert errors.by_value(-0x7F9CDF6F).name == "PEER_E_GROUP_NOT_READY"  # a signed 32-bit HRESULT


def test_success_codes_are_not_errors() -> None:
    assert errors.by_name("PEER_S_ALREADY_A_MEMBER").succeeded
    assert not errors.by_name("E_INVALIDARG").succeeded
    with pytest.raises(ValueError, match="success code"):
        errors.PeerError("nothing wrong", name="S_OK")


def test_peer_error_carries_name_value_and_the_reason() -> None:
    error = errors.peer_error("PEER_E_NOT_FOUND", "no identity x here")
    assert isinstance(error, errors.NotFound) and isinstance(error, LookupError)
    assert (error.name, error.hresult, error.message) == ("PEER_E_NOT_FOUND", 0x80070490, "no identity x here")
    assert str(error) == "PEER_E_NOT_FOUND (0x80070490): no identity x here"


def test_codes_without_a_subclass_are_plain_peer_errors() -> None:
    error = errors.peer_error("PEER_E_GROUPS_EXIST", "has groups")
    assert type(error) is errors.PeerError and error.name == "PEER_E_GROUPS_EXIST"


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(KeyError):
        errors.peer_error("PEER_E_NOT_SYNCHRONIZED", "there is no such code")


def test_the_names_mypy_checks_are_the_table_s_error_names() -> None:
    assert errors.ERROR_NAMES == {name for name, result in errors.HRESULTS.items() if not result.succeeded}


def test_a_name_from_outside_is_an_error_name_only_if_the_table_has_it() -> None:
    assert errors.error_name("PEER_E_NOT_AUTHORIZED") == "PEER_E_NOT_AUTHORIZED"
    assert errors.error_name("S_OK") is None and errors.error_name("PEER_E_NOT_SYNCHRONIZED") is None
