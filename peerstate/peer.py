"""``Peer``: one machine: its identities, its group replicas, its handles; the Pythonic API.

Each method says at its definition how it runs (``reading``: it stores nothing; ``writing``:
it may store, and is made again whole after losing a race to another writer of the store,
``peerstate.calls.runtime``) and goes in one line to the module of its topic in
``peerstate.calls``. ``docs/windows-mapping.md`` pairs each with its ``p2p.h`` function.

What sync needs of a peer is not here: ``sync_port(peer)`` gives it to the network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric import rsa

from peerstate.calls import (
    configurations,
    credentials,
    database,
    events,
    groups,
    identities,
    joining,
    members,
    records,
)
from peerstate.calls.credentials import CredentialRequest
from peerstate.calls.joining import PasswordJoin
from peerstate.calls.members import MemberView
from peerstate.calls.runtime import NamePair, PeerSettings, Runtime, reading, utc_now, writing
from peerstate.calls.sessions import GroupEvent, Interest
from peerstate.sync.port import Neighbor
from peerstate.calls.sync_port import PeerPort
from peerstate.constants import PeerGroupStatus
from peerstate.documents.invitations import CredentialInvitation, PasswordInvitation
from peerstate.domain.group_events import GroupProperties
from peerstate.domain.records import RecordVersion
from peerstate.storage.peer_store import PeerStore
from peerstate.sync.port import SyncPort

__all__ = ["NamePair", "Peer", "PeerSettings", "check_handle", "sync_port", "utc_now"]


class Peer:
    """One machine's peer infrastructure, over its store.

    With a passphrase, private keys are sealed at rest under a key derived from it. Opened
    without the right passphrase, the keys stay locked: calls that sign or decrypt raise
    ``PEER_E_NO_KEY_ACCESS`` while reading calls work. Threads may share a ``Peer``: it makes
    one call at a time, each from the store as it is.
    """

    def __init__(
        self, store: PeerStore, *, settings: PeerSettings = PeerSettings(), clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._runtime = Runtime(store, settings, clock)
        self._port = PeerPort(self._runtime)

    # The machine -------------------------------------------------------------------------------

    @property
    def settings(self) -> PeerSettings:
        """How this machine is set up (clouds, passphrase policy, address, ...)."""
        return self._runtime.settings

    @property
    def races_lost(self) -> int:
        """How many calls were made again because another writer of the store committed
        first: a measure of contention."""
        return self._runtime.races_lost

    @property
    def sealed_on_open(self) -> bool:
        """Whether this open sealed a protected store that carried no seal
        (``storage.store_seal``): once, for a store made before stores were sealed; any
        other time, a store whose seal someone without the passphrase stripped, which an
        application should treat as an alarm."""
        return self._runtime.sealed_now

    @property
    def keys_locked(self) -> bool:
        """Whether the private keys are sealed and this peer was opened without their passphrase."""
        return self._runtime.keys.locked

    @reading
    def close(self) -> None:
        """End this process's use of the peer (``PeerGroupShutdown``): its handles and
        registrations are gone; the store stays open for whoever owns it."""
        self._runtime.close()

    # Identities --------------------------------------------------------------------------------

    @writing
    def create_identity(
        self, classifier: str | None = None, friendly_name: str | None = None, key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        """``PeerIdentityCreate``: a new identity, ``<authority>.<classifier>``; ``key`` takes an
        existing RSA key pair, else a new RSA-2048 pair is made."""
        return identities.create_identity(self._runtime, classifier, friendly_name, key)

    @writing
    def delete_identity(self, identity: str | None) -> None:
        """``PeerIdentityDelete``: the identity becomes a tombstone; the groups here are told."""
        identities.delete_identity(self._runtime, identity)

    @reading
    def friendly_name(self, identity: str | None) -> str:
        """``PeerIdentityGetFriendlyName``."""
        return identities.friendly_name(self._runtime, identity)

    @writing
    def set_friendly_name(self, identity: str | None, friendly_name: str | None) -> None:
        """``PeerIdentitySetFriendlyName``: None or "" restores the peer name; signs a new IDC."""
        identities.set_friendly_name(self._runtime, identity, friendly_name)

    @writing
    def default_identity(self) -> str:
        """``PeerIdentityGetDefault``: the default identity, made on first request."""
        return identities.default_identity(self._runtime)

    @writing
    def identity_xml(self, identity: str | None = None) -> str:
        """``PeerIdentityGetXML``: the public IDC document; None is the default identity,
        made on first request."""
        return identities.identity_xml(self._runtime, identity)

    @writing
    def export_identity(self, identity: str | None, password: str | None) -> str:
        """``PeerIdentityExport``: the identity with its key, under ``password``; the export is
        recorded."""
        return identities.export_identity(self._runtime, identity, password)

    @writing
    def import_identity(self, export_xml: str | None, password: str | None) -> str:
        """``PeerIdentityImport``: exactly the text ``export_identity`` returned."""
        return identities.import_identity(self._runtime, export_xml, password)

    @reading
    def identities(self) -> list[NamePair]:
        """``PeerEnumIdentities``: the live identities, in the order they came to this peer."""
        return identities.identities(self._runtime)

    @reading
    def create_peer_name(self, identity: str | None, classifier: str | None) -> str:
        """``PeerCreatePeerName``: a peer name from the identity's authority (none: ``0.``)."""
        return identities.create_peer_name(self._runtime, identity, classifier)

    # Groups ------------------------------------------------------------------------------------

    @writing
    def create_group(
        self, creator: str | None, classifier: str | None = None, *, cloud: str | None = None,
        friendly_name: str | None = None, comment: str | None = None, flags: int = 0,
        member_data_lifetime: int = groups.DEFAULT_MEMBER_DATA_LIFETIME,
        presence_lifetime: int = groups.DEFAULT_PRESENCE_LIFETIME, authentication_schemes: int = groups.GMC,
        password: str | None = None, password_role: UUID | str | None = None,
    ) -> str:
        """``PeerGroupCreate``: a group whose creator, first member and administrator is
        ``creator``; a handle to it."""
        return groups.create_group(
            self._runtime, creator, classifier, cloud=cloud, friendly_name=friendly_name, comment=comment,
            flags=flags, member_data_lifetime=member_data_lifetime, presence_lifetime=presence_lifetime,
            authentication_schemes=authentication_schemes, password=password, password_role=password_role,
        )

    @reading
    def open_group(self, identity: str | None, group_peer_name: str | None, cloud: str | None = None) -> str:
        """``PeerGroupOpen``: a new handle to a group the identity created or joined here."""
        return groups.open_group(self._runtime, identity, group_peer_name, cloud)

    @writing
    def password_join(
        self, identity: str | None, invitation: str | None, password: str | None, cloud: str | None = None,
    ) -> PasswordJoin:
        """``PeerGroupPasswordJoin``: the password is checked at the first sync."""
        return joining.password_join(self._runtime, identity, invitation, password, cloud)

    @writing
    def join(self, identity: str | None, invitation: str | None, cloud: str | None = None) -> str:
        """``PeerGroupJoin``: by a credential invitation; a synchronized member takes the
        credential up at once."""
        return joining.join(self._runtime, identity, invitation, cloud)

    @writing
    def connect(self, handle: object, addresses: Sequence[str] | None = None) -> None:
        """``PeerGroupConnect``, or with ``addresses`` ``PeerGroupConnectByAddress``: online at
        the next sync."""
        groups.connect(self._runtime, handle, addresses)

    @writing
    def close_group(self, handle: object) -> None:
        """``PeerGroupClose``: the handle is gone; the last one drops the connections."""
        groups.close_group(self._runtime, handle)

    @writing
    def delete_group(self, identity: str | None, group_peer_name: str | None) -> None:
        """``PeerGroupDelete``: the identity's replica of the group is deleted from this peer."""
        groups.delete_group(self._runtime, identity, group_peer_name)

    @reading
    def group_status(self, handle: object) -> PeerGroupStatus:
        """``PeerGroupGetStatus``: listening, and having connections."""
        return groups.group_status(self._runtime, handle)

    @reading
    def connections(self, handle: object, flags: object) -> list[Neighbor]:
        """``PeerGroupEnumConnections``: the replica's live neighbour connections."""
        return groups.connections(self._runtime, handle, flags)

    @reading
    def group_properties(self, handle: object) -> GroupProperties:
        """``PeerGroupGetProperties``."""
        return groups.group_properties(self._runtime, handle)

    @writing
    def set_group_properties(self, /, handle: object, **changes: Any) -> None:
        """``PeerGroupSetProperties``: by the creator; fixed properties stay as they are."""
        groups.set_group_properties(self._runtime, handle, changes)

    @reading
    def peer_time_to_universal(self, handle: object, peer_time: datetime | None) -> datetime:
        """``PeerGroupPeerTimeToUniversalTime``."""
        return groups.peer_time_to_universal(self._runtime, handle, peer_time)

    @reading
    def universal_to_peer_time(self, handle: object, universal_time: datetime | None) -> datetime:
        """``PeerGroupUniversalTimeToPeerTime``."""
        return groups.universal_to_peer_time(self._runtime, handle, universal_time)

    @reading
    def groups(self, identity: str | None) -> list[NamePair]:
        """``PeerEnumGroups``: the groups this identity has on this peer."""
        return groups.groups(self._runtime, identity)

    @reading
    def members(self, handle: object, flags: object = 0, identity: str | None = None) -> list[MemberView]:
        """``PeerGroupEnumMembers``: the members the published member data lists, this
        replica's own identity first."""
        return members.members(self._runtime, handle, flags, identity)

    # Credentials and invitations -----------------------------------------------------------------

    @reading
    def create_password_invitation(self, handle: object) -> str:
        """``PeerGroupCreatePasswordInvitation``: signed by the caller with its chain."""
        return credentials.create_password_invitation(self._runtime, handle)

    @writing
    def create_invitation(
        self, handle: object, identity_info: str | None, expiration: datetime | None = None,
        roles: Iterable[object] | None = None,
    ) -> str:
        """``PeerGroupCreateInvitation``: a new GMC for the identity whose XML is
        ``identity_info``, issued in the group log."""
        return credentials.create_invitation(self._runtime, handle, identity_info, expiration, roles)

    @writing
    def issue_credentials(
        self, handle: object, subject: str | None, request: CredentialRequest | None, flags: object = 0,
    ) -> str:
        """``PeerGroupIssueCredentials``: as ``request`` says, or (None) as the subject's latest
        credential; ``PEER_GROUP_STORE_CREDENTIALS`` delivers it by the group log."""
        return credentials.issue_credentials(self._runtime, handle, subject, request, flags)

    @reading
    def parse_invitation(self, invitation: str | None) -> PasswordInvitation | CredentialInvitation:
        """``PeerGroupParseInvitation``: what a trusted invitation says."""
        return credentials.parse_invitation(invitation)

    # Configurations and the database as a file ----------------------------------------------------

    @reading
    def export_config(self, handle: object, password: str | None) -> str:
        """``PeerGroupExportConfig``: the identity's membership under ``password``."""
        return configurations.export_config(self._runtime, handle, password)

    @writing
    def import_config(self, xml: str | None, password: str | None, overwrite: object = False) -> tuple[str, str]:
        """``PeerGroupImportConfig``: the identity and group to open."""
        return configurations.import_config(self._runtime, xml, password, overwrite)

    @reading
    def export_database(self, handle: object, path: object) -> None:
        """``PeerGroupExportDatabase``: every envelope of the replica, signed, to a file."""
        database.export_database(self._runtime, handle, path)

    @writing
    def import_database(self, handle: object, path: object) -> None:
        """``PeerGroupImportDatabase``: a file taken whole or not at all, before connecting."""
        database.import_database(self._runtime, handle, path)

    # Events ------------------------------------------------------------------------------------

    @reading
    def register_event(self, handle: object, interests: Iterable[Interest]) -> str:
        """``PeerGroupRegisterEvent``: record changes are counted from now."""
        return events.register_event(self._runtime, handle, interests)

    @reading
    def unregister_event(self, registration: object) -> None:
        """``PeerGroupUnregisterEvent``."""
        events.unregister_event(self._runtime, registration)

    @reading
    def event_data(self, registration: object) -> GroupEvent | None:
        """``PeerGroupGetEventData``: the oldest queued event, None when there is none."""
        return events.event_data(self._runtime, registration)

    # Records -----------------------------------------------------------------------------------

    @writing
    def add_record(
        self, handle: object, record_type: object, expiration: object, *, attributes: object = None,
        data: object = None, flags: object = 0,
    ) -> UUID:
        """``PeerGroupAddRecord``: a new record, expiring at ``expiration`` (peer time)."""
        return records.add_record(self._runtime, handle, record_type, expiration, attributes, data, flags)

    @writing
    def update_record(
        self, handle: object, record_id: object, record_type: object, flags: object, expiration: object, *,
        attributes: object = None, data: object = None,
    ) -> None:
        """``PeerGroupUpdateRecord``: by its creator; its expiration only moves later."""
        records.update_record(self._runtime, handle, record_id, record_type, flags, expiration, attributes, data)

    @writing
    def delete_record(self, handle: object, record_id: object) -> None:
        """``PeerGroupDeleteRecord``: by its creator or an administrator."""
        records.delete_record(self._runtime, handle, record_id)

    @reading
    def get_record(self, handle: object, record_id: object) -> RecordVersion:
        """``PeerGroupGetRecord``."""
        return records.get_record(self._runtime, handle, record_id)

    @reading
    def records(self, handle: object, record_type: object = None) -> list[RecordVersion]:
        """``PeerGroupEnumRecords``: the records shown now, oldest first."""
        return records.records(self._runtime, handle, record_type)

    @reading
    def search_records(self, handle: object, criteria: object) -> list[RecordVersion]:
        """``PeerGroupSearchRecords``: the records a ``<peersearch>`` query matches."""
        return records.search_records(self._runtime, handle, criteria)


def sync_port(peer: Peer) -> SyncPort:
    """The peer as sync reaches it: for the network and the conversation, not for callers
    of the API (it signs, stores received envelopes and hands out password verifiers)."""
    return peer._port


def check_handle(peer: Peer, handle: object) -> None:
    """``PEER_E_INVALID_GROUP`` unless ``handle`` is open on ``peer``: ``winapi`` unpacks some
    arguments before they reach ``Peer``, and checks the handle first, as the order of checks
    says (``docs/scenario-format.md`` §4.1)."""
    peer._runtime.reading(lambda: groups.require_handle(peer._runtime, handle))
