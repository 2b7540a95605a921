"""The p2p.h surface: HRESULTs instead of exceptions, out-parameters by their documented names."""

from __future__ import annotations

from peerstate import Peer, PeerStore, winapi


def test_success_returns_the_documented_out_parameter(peer: Peer) -> None:
    result = winapi.FUNCTIONS["PeerIdentityCreate"](peer, pwzClassifier="chess", pwzFriendlyName="Alice")
    assert result.hresult.name == "S_OK" and set(result.out) == {"ppwzIdentity"}
    listed = winapi.FUNCTIONS["PeerEnumIdentities"](peer)
    assert listed.out == {"phPeerEnum": [{"pwzPeerName": result.out["ppwzIdentity"], "pwzFriendlyName": "Alice"}]}


def test_failure_returns_the_hresult_and_no_out_parameters(peer: Peer, store: PeerStore) -> None:
    head = store.head()
    result = winapi.FUNCTIONS["PeerIdentityGetFriendlyName"](peer, pwzIdentity="0" * 40 + ".x")
    assert (result.hresult.name, result.hresult.value, result.out) == ("PEER_E_NOT_FOUND", 0x80070490, {})
    assert "no identity" in result.message
    assert store.head() == head


def test_a_key_provider_handle_is_not_a_handle_here(peer: Peer, store: PeerStore) -> None:
    head = store.head()
    result = winapi.FUNCTIONS["PeerIdentityCreate"](peer, hCryptProv=7)
    assert result.hresult.name == "ERROR_INVALID_HANDLE" and peer.identities() == []
    assert result.rule == "key_provider_absent"
    assert store.head() == head


def test_every_identity_manager_call_is_implemented() -> None:
    identity_calls = {name for name in winapi.ALL_FUNCTIONS if not name.startswith("PeerGroup")}
    assert identity_calls <= set(winapi.FUNCTIONS)
    assert winapi.in_parameters("PeerIdentityExport") == ("pwzIdentity", "pwzPassword")
    assert winapi.OUT_PARAMETERS["PeerIdentityGetXML"] == ("ppwzIdentityXML",)
