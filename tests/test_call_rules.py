"""Every rule of the calls and of ``winapi`` broken alone, by a call: the refusal is the
rule's, under its name and its HRESULT, and nothing changed (the store's head, the
identities, their groups, the group's state).

The rules are those of ``calls/arguments.py``, ``calls/sessions.py``, ``calls/runtime.py``,
``winapi/arguments.py`` and the calls' topics in ``domain/`` (``group_rules``,
``membership_rules``, ``database_rules``, ``peer_time``); a test holds the table below to
every rule they register.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final
from uuid import UUID

import attrs
import pytest

from peerstate import Peer, PeerError, PeerSettings, PeerStore, crypto, open_store, views, winapi
from peerstate.calls import runtime
from peerstate.calls.credentials import CredentialRequest
from peerstate.crypto import credentials
from peerstate.documents import configs, database_files
from peerstate.names import ROLE_MEMBER
from peerstate.peer import sync_port
from peerstate.registry import RULES
from peerstate.winapi import WinResult

from tests.conftest import T0

KEYS: Final = [crypto.generate_identity_key() for _ in range(2)]
"""Made once: alice's and bob's keys."""
KIND: Final = UUID("5f0c7d1e-3a2b-4c5d-8e9f-0a1b2c3d4e5f")
PASSWORD: Final = "correct horse"
CLOUDS: Final = ("Global_", "SiteLocal_1", "SiteLocal_2")


@attrs.define
class World:
    """One peer with two identities, alice and bob; alice created a group ("club", with
    password authentication) and holds a handle to it. ``tmp`` is a directory for files."""

    store: PeerStore
    peer: Peer
    alice: str
    bob: str
    handle: str
    group: str
    tmp: Path

    def snapshot(self) -> tuple[object, ...]:
        """What a refused call must leave as it was, read by another peer over the store (a
        rule may have closed this one)."""
        reader = Peer(self.store, settings=PeerSettings(clouds=CLOUDS), clock=lambda: T0)
        identities = reader.identities()
        group = sync_port(reader).sync_replica((self.alice, self.group)).state.group
        return self.store.head(), identities, [reader.groups(pair.peer_name) for pair in identities], views.group_digest(group)

    def bob_xml(self) -> str:
        return self.peer.identity_xml(self.bob)

    def exported(self, name: str = "club.peerdb") -> Path:
        path = self.tmp / name
        self.peer.export_database(self.handle, str(path))
        return path

    def config(self) -> str:
        return self.peer.export_config(self.handle, PASSWORD)


@pytest.fixture
def world(tmp_path: Path) -> World:
    store = open_store(None)
    peer = Peer(store, settings=PeerSettings(clouds=CLOUDS), clock=lambda: T0)
    alice = peer.create_identity("alice", "Alice", key=KEYS[0])
    bob = peer.create_identity("bob", "Bob", key=KEYS[1])
    handle = peer.create_group(alice, "club", authentication_schemes=2, password=PASSWORD, password_role=ROLE_MEMBER)
    return World(store, peer, alice, bob, handle, peer.group_properties(handle).group_peer_name, tmp_path)


# What the cases need made first ---------------------------------------------------------------


def _rewritten(path: Path, change: Callable[[database_files.DatabaseSnapshot], database_files.DatabaseSnapshot]) -> Path:
    path.write_bytes(database_files.encode(change(database_files.decode(path.read_bytes()))))
    return path


def _other_group(w: World) -> str:
    return w.peer.create_group(w.alice, "other")


def _config_for_bob(w: World) -> str:
    """A configuration of the club for bob, its GMC signed by the group's root (alice's
    configuration carries the group's key) but for alice's key, not bob's."""
    config = configs.read_group_config(w.config(), PASSWORD)
    assert config.group_key is not None
    gmc = credentials.issue_membership(
        config.group_key, config.chain[0], group_peer_name=w.group, subject=w.bob, subject_friendly_name="Bob",
        subject_public_key=crypto.public_key_der(KEYS[0]), roles=[ROLE_MEMBER], not_before=T0, not_after=T0 + timedelta(days=1),
    )
    return configs.group_config_xml(attrs.evolve(config, identity=w.bob, chain=(config.chain[0], gmc), group_key=None), PASSWORD)


def _export_naming_bob(w: World) -> str:
    """alice's identity export, naming bob."""
    return w.peer.export_identity(w.alice, PASSWORD).replace(w.alice, w.bob)


def _password_joiner(w: World) -> str:
    """bob's handle, joined by password and not yet synchronized: no credential yet."""
    return w.peer.password_join(w.bob, w.peer.create_password_invitation(w.handle), PASSWORD).handle


def _always_loses(w: World) -> Callable[[], object]:
    def stale() -> object:
        raise runtime._Stale()
    return lambda: w.peer._runtime.writing(stale)


def _closed(w: World) -> Callable[[], object]:
    w.peer.close()
    return lambda: w.peer.identities()


def _record(**fields: object) -> dict[str, object]:
    return {"type": KIND, "ftExpiration": T0 + timedelta(hours=1), **fields}


def _issue(w: World, info: object) -> WinResult:
    return winapi.PeerGroupIssueCredentials(w.peer, hGroup=w.handle, pwzSubjectIdentity=w.bob, pCredentialInfo=info)


Prepare = Callable[[World], Callable[[], object]]
"""Makes what a case needs, then gives the call that breaks the rule."""

CASES: Final[list[tuple[str, str, str, Prepare]]] = [
    # calls/arguments.py
    ("argument_is_text", "E_INVALIDARG", "a classifier that is not a string",
     lambda w: lambda: w.peer.create_identity(5)),  # type: ignore[arg-type]
    ("argument_is_text", "E_INVALIDARG", "a required name left out", lambda w: lambda: w.peer.open_group(None, w.group)),
    ("argument_is_filled", "E_INVALIDARG", "an empty password", lambda w: lambda: w.peer.export_identity(w.alice, "")),
    ("argument_is_dword", "E_INVALIDARG", "flags that are not a number", lambda w: lambda: w.peer.members(w.handle, "1")),
    ("argument_is_bool", "E_INVALIDARG", "fOverwrite that is not a BOOL",
     lambda w: (lambda xml: lambda: w.peer.import_config(xml, PASSWORD, 1))(w.config())),
    ("argument_is_time", "E_INVALIDARG", "no peer time", lambda w: lambda: w.peer.peer_time_to_universal(w.handle, None)),
    # domain/peer_time.py
    ("converted_time_is_representable", "E_INVALIDARG", "a universal time past the year 9999 in UTC",
     lambda w: lambda: w.peer.universal_to_peer_time(w.handle, datetime.max.replace(tzinfo=timezone(-timedelta(hours=5))))),
    ("argument_is_guid", "E_INVALIDARG", "a record id that is no GUID", lambda w: lambda: w.peer.get_record(w.handle, "nope")),
    ("argument_is_bytes", "E_INVALIDARG", "record data as text",
     lambda w: lambda: w.peer.add_record(w.handle, KIND, T0 + timedelta(hours=1), data="text")),
    ("argument_is_rsa_key", "E_INVALIDARG", "a key that is not an RSA key",
     lambda w: lambda: w.peer.create_identity("carol", key="key")),  # type: ignore[arg-type]
    ("argument_is_list", "E_INVALIDARG", "roles as one string",
     lambda w: (lambda xml: lambda: w.peer.create_invitation(w.handle, xml, roles="PEER_GROUP_ROLE_MEMBER"))(w.bob_xml())),
    ("argument_is_list", "E_INVALIDARG", "winapi: pRoles not a list", lambda w: lambda: _issue(w, {"pRoles": "member"})),
    ("argument_is_list", "E_INVALIDARG", "winapi: pEventRegistrations not a list",
     lambda w: lambda: winapi.PeerGroupRegisterEvent(w.peer, hGroup=w.handle, pEventRegistrations="all")),
    ("list_names_one_at_least", "E_INVALIDARG", "no role",
     lambda w: (lambda xml: lambda: w.peer.create_invitation(w.handle, xml, roles=[]))(w.bob_xml())),
    ("list_names_one_at_least", "E_INVALIDARG", "no address", lambda w: lambda: w.peer.connect(w.handle, [])),
    ("list_names_one_at_least", "E_INVALIDARG", "no event type", lambda w: lambda: w.peer.register_event(w.handle, [])),
    ("argument_is_role", "E_INVALIDARG", "a password role that is a number",
     lambda w: lambda: w.peer.create_group(w.alice, authentication_schemes=2, password=PASSWORD, password_role=5)),  # type: ignore[arg-type]
    ("argument_is_roles", "E_INVALIDARG", "a role that is a number",
     lambda w: (lambda xml: lambda: w.peer.create_invitation(w.handle, xml, roles=[5]))(w.bob_xml())),
    ("flags_zero_or", "E_INVALIDARG", "members' flags", lambda w: lambda: w.peer.members(w.handle, 2)),
    ("flags_zero_or", "E_INVALIDARG", "issue's flags", lambda w: lambda: w.peer.issue_credentials(w.handle, w.bob, None, 2)),
    ("connection_flags_named", "E_INVALIDARG", "no connection kind", lambda w: lambda: w.peer.connections(w.handle, 0)),
    ("record_flags_not_deleted", "PEER_E_INVALID_RECORD", "a record marked deleted by its caller",
     lambda w: lambda: w.peer.add_record(w.handle, KIND, T0 + timedelta(hours=1), flags=2)),
    ("record_flags_known", "E_INVALIDARG", "a record flag no one defined",
     lambda w: lambda: w.peer.add_record(w.handle, KIND, T0 + timedelta(hours=1), flags=4)),
    ("property_names_known", "E_INVALIDARG", "a property groups do not have",
     lambda w: lambda: w.peer.set_group_properties(w.handle, colour="red")),
    ("unsecured_name_has_classifier", "E_INVALIDARG", "an unsecured name without a classifier",
     lambda w: lambda: w.peer.create_peer_name(None, None)),
    ("identity_export_opens", "E_INVALIDARG", "an export that is not one",
     lambda w: lambda: w.peer.import_identity("<PEERIDENTITYEXPORT/>", PASSWORD)),
    ("identity_export_is_its_own", "E_INVALIDARG", "an export naming another identity",
     lambda w: (lambda xml: lambda: w.peer.import_identity(xml, PASSWORD))(_export_naming_bob(w))),
    ("invitation_is_of_kind", "E_INVALIDARG", "a password invitation to the credential join",
     lambda w: (lambda xml: lambda: w.peer.join(w.bob, xml))(w.peer.create_password_invitation(w.handle))),
    # calls/sessions.py
    ("handle_is_open", "PEER_E_INVALID_GROUP", "a made-up handle", lambda w: lambda: w.peer.group_status("HGROUP:nope:1")),
    ("registration_is_open", "E_INVALIDARG", "a made-up registration",
     lambda w: lambda: w.peer.unregister_event("HPEEREVENT:nope:1")),
    # calls/runtime.py
    ("save_attempts_remain", "E_UNEXPECTED", "a call that loses every race", _always_loses),
    ("peer_is_open", "PEER_E_NOT_INITIALIZED", "a call on a closed peer", _closed),
    ("store_holds_no_clear_keys", "E_INVALIDARG", "a passphrase for keys kept in the clear",
     lambda w: lambda: Peer(w.store, settings=PeerSettings(passphrase="late"), clock=lambda: T0)),
    ("store_holds_identity", "PEER_E_IDENTITY_NOT_FOUND", "a store opened for an identity it does not hold",
     lambda w: lambda: Peer(w.store, settings=PeerSettings(identity=f"{'0' * 40}.someone"), clock=lambda: T0)),
    # domain/group_rules.py
    ("properties_in_range", "PEER_E_INVALID_GROUP_PROPERTIES", "a group flag no one defined",
     lambda w: lambda: w.peer.create_group(w.alice, flags=0x80)),
    ("properties_in_range", "PEER_E_INVALID_GROUP_PROPERTIES", "a presence lifetime too short",
     lambda w: lambda: w.peer.create_group(w.alice, presence_lifetime=299)),
    ("cloud_is_known", "PEER_E_NO_CLOUD", "a cloud this peer does not see",
     lambda w: lambda: w.peer.create_group(w.alice, cloud="LinkLocal_")),
    ("cloud_name_unambiguous", "PEER_E_CLOUD_NAME_AMBIGUOUS", "a scope with two clouds",
     lambda w: lambda: w.peer.create_group(w.alice, cloud="SiteLocal_")),
    ("group_is_here", "PEER_E_NOT_FOUND", "a group the identity does not have",
     lambda w: lambda: w.peer.open_group(w.bob, w.group)),
    # domain/membership_rules.py
    ("invitation_expiration_ahead", "E_INVALIDARG", "an invitation that expires now",
     lambda w: (lambda xml: lambda: w.peer.create_invitation(w.handle, xml, expiration=T0))(w.bob_xml())),
    ("credential_key_is_subjects", "E_INVALIDARG", "another identity's key",
     lambda w: lambda: w.peer.issue_credentials(w.handle, w.bob, CredentialRequest(crypto.public_key_der(KEYS[0]), (ROLE_MEMBER,)))),
    ("credential_validity_ahead", "E_INVALIDARG", "a validity over before it starts",
     lambda w: lambda: w.peer.issue_credentials(w.handle, w.bob, CredentialRequest(
         crypto.public_key_der(KEYS[1]), (ROLE_MEMBER,), valid_until=T0 - timedelta(days=1)))),
    ("subject_has_credential", "PEER_E_IDENTITY_NOT_FOUND", "a renewal for one who never had a credential",
     lambda w: lambda: w.peer.issue_credentials(w.handle, w.bob, None)),
    ("identity_holds_chain", "PEER_E_GROUP_NOT_READY", "a configuration of a password joiner not yet in",
     lambda w: (lambda handle: lambda: w.peer.export_config(handle, PASSWORD))(_password_joiner(w))),
    ("configuration_is_for_key", "E_INVALIDARG", "a configuration for another identity's key",
     lambda w: (lambda xml: lambda: w.peer.import_config(xml, PASSWORD))(_config_for_bob(w))),
    ("replica_replaced_only_on_request", "PEER_E_ALREADY_EXISTS", "a configuration of a group already here",
     lambda w: (lambda xml: lambda: w.peer.import_config(xml, PASSWORD, False))(w.config())),
    # domain/database_rules.py
    ("database_imported_before_connect", "PEER_E_GROUP_IN_USE", "an import once connected",
     lambda w: (lambda path: (w.peer.connect(w.handle), lambda: w.peer.import_database(w.handle, str(path)))[1])(w.exported())),
    ("database_is_for_group", "PEER_E_INVALID_DATABASE", "another group's database",
     lambda w: (lambda path, other: lambda: w.peer.import_database(other, str(path)))(w.exported(), _other_group(w))),
    ("database_envelope_taken", "PEER_E_INVALID_DATABASE", "an envelope whose signature was changed",
     lambda w: (lambda path: lambda: w.peer.import_database(w.handle, str(path)))(_rewritten(w.exported(), lambda s: attrs.evolve(
         s, envelopes=(attrs.evolve(s.envelopes[0], signature=b"forged"), *s.envelopes[1:]))))),
    ("database_signed_by_exporter", "PEER_E_INVALID_DATABASE", "a file its exporter did not sign",
     lambda w: (lambda path: lambda: w.peer.import_database(w.handle, str(path)))(_rewritten(
         w.exported(), lambda s: attrs.evolve(s, signature=b"forged")))),
    # winapi/arguments.py
    ("structure_given", "E_INVALIDARG", "no PEER_GROUP_PROPERTIES", lambda w: lambda: winapi.PeerGroupCreate(w.peer)),
    ("structure_given", "E_INVALIDARG", "a field PEER_RECORD does not have",
     lambda w: lambda: winapi.PeerGroupAddRecord(w.peer, hGroup=w.handle, pRecord=_record(colour="red"))),
    ("credential_info_is_structure", "E_INVALIDARG", "a field PEER_CREDENTIAL_INFO does not have",
     lambda w: lambda: _issue(w, {"colour": "red"})),
    ("reserved_field_is_zero", "E_INVALIDARG", "PEER_CREDENTIAL_INFO.dwFlags set",
     lambda w: lambda: _issue(w, {"dwFlags": 1, "pRoles": []})),
    ("public_key_is_text", "E_INVALIDARG", "a public key that is a number",
     lambda w: lambda: _issue(w, {"pRoles": [], "pPublicKey": 5})),
    ("text_is_base64", "E_INVALIDARG", "a public key that is not base64",
     lambda w: lambda: _issue(w, {"pRoles": [], "pPublicKey": "not base64!"})),
    ("text_is_base64", "E_INVALIDARG", "record data that is not base64",
     lambda w: lambda: winapi.PeerGroupAddRecord(w.peer, hGroup=w.handle, pRecord=_record(data="@@@@"))),
    ("record_data_is_text", "E_INVALIDARG", "record data that is a number",
     lambda w: lambda: winapi.PeerGroupAddRecord(w.peer, hGroup=w.handle, pRecord=_record(data=5))),
    ("group_peer_name_not_given", "E_INVALIDARG", "a group peer name given to PeerGroupCreate",
     lambda w: lambda: winapi.PeerGroupCreate(w.peer, pProperties={"pwzCreatorPeerName": w.alice, "pwzGroupPeerName": w.group})),
    ("addresses_are_peer_addresses", "E_INVALIDARG", "an address that is not a PEER_ADDRESS",
     lambda w: lambda: winapi.PeerGroupConnectByAddress(w.peer, hGroup=w.handle, pAddresses=[{"ip": "::1"}])),
    ("event_registration_well_formed", "E_INVALIDARG", "an event type that is a number",
     lambda w: lambda: winapi.PeerGroupRegisterEvent(w.peer, hGroup=w.handle, pEventRegistrations=[{"eventType": 2}])),
    ("key_provider_absent", "ERROR_INVALID_HANDLE", "a key provider", lambda w: lambda: winapi.PeerIdentityCreate(w.peer, hCryptProv=7)),
]
MODULES: Final = frozenset({
    "peerstate.calls.arguments", "peerstate.calls.sessions", "peerstate.calls.runtime", "peerstate.winapi.arguments",
    "peerstate.domain.group_rules", "peerstate.domain.membership_rules", "peerstate.domain.database_rules",
    "peerstate.domain.peer_time",
})


@pytest.mark.parametrize(("rule", "code", "prepare"), [case[:2] + case[3:] for case in CASES], ids=[case[2] for case in CASES])
def test_a_call_that_breaks_one_rule_is_refused_under_its_name_and_changes_nothing(
    world: World, rule: str, code: str, prepare: Prepare,
) -> None:
    call = prepare(world)
    before = world.snapshot()
    try:
        result = call()
    except PeerError as error:
        refused: tuple[str | None, str] = (error.rule, error.name)
        message = error.message
    else:
        assert isinstance(result, WinResult), f"not refused: {result!r}"
        refused, message = (result.rule, result.hresult.name), result.message
    assert refused == (rule, code), message
    assert RULES[rule].module in MODULES and code in RULES[rule].codes
    assert world.snapshot() == before


def test_every_rule_of_the_calls_and_of_winapi_is_broken_above() -> None:
    registered = {name for name, entry in RULES.items() if entry.module in MODULES}
    assert registered == {case[0] for case in CASES}
