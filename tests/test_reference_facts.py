"""The facts file the tests compare the code with is whole and names its sources."""

from __future__ import annotations

import pytest
from reference_facts import cited, functions, group_constants, hresults, items, roles, sources


def test_the_lists_were_copied_whole() -> None:
    assert len(hresults()) >= 100 and hresults()["PEER_E_GROUP_NOT_READY"] == 0x80632091
    assert len(group_constants()) >= 40 and group_constants()["PEER_GROUP_PASSWORD_AUTHENTICATION"] == 0x2
    assert len(functions()) == len(set(functions())) >= 50
    assert {"PeerGroupStartup", "PeerGroupCreate", "PeerIdentityGetCryptKey", "PeerCreatePeerName"} <= set(functions())
    assert roles()["PEER_GROUP_ROLE_ADMIN"] == "04387127-aa56-450a-8ce5-4f565c6790f4"


@pytest.mark.parametrize("kind", ["hresults", "constants", "roles", "functions"])
def test_every_item_names_a_known_source(kind: str) -> None:
    for item in items(kind):
        names = cited(item["source"])
        assert names, f"{item['name']} names no source"
        unknown = set(names) - set(sources())
        assert not unknown, f"{item['name']} cites {sorted(unknown)}, which the sources do not list"


def test_a_citation_is_read_by_its_kind() -> None:
    assert cited("[API:peergroupjoin]") == ["[API:x]"]
    assert cited("[SDKH]; value confirmed by [SILK] and [COMERR]") == ["[SDKH]", "[SILK]", "[COMERR]"]
    assert cited("winerror.h, as named on the function pages [API:*]") == ["winerror.h", "[API:x]"]
