"""What the crash and concurrency tests check of a store after a kill or a race: that it
verifies, that every log replays, and that its logs agree with each other and with the rules
no single log can check."""

from __future__ import annotations

from peerstate import views
from peerstate.audit import verify_store
from peerstate.domain.group_events import EnvelopeAccepted, RecordPublished
from peerstate.domain.state import IdentityStoreState, evolve
from peerstate.storage.logs import IdentityLog
from peerstate.storage.peer_store import PeerStore


def replays(store: PeerStore) -> None:
    """Every log of the store folds, by the pure domain fold from its first row, to the
    state eventsourcing's projector gives; a log that does not replay raises."""
    folded = IdentityStoreState()
    for event in store.stored_log(IdentityLog.create_id("identities")):
        if isinstance(event, IdentityLog.Recorded):
            folded = evolve(folded, event.payload)
    assert folded == store.identity_log().state, "the identity log does not replay to its state"
    for identity, group in store.replica_keys():
        replayed, _ = views.replica_as_of(group, store.replica_events(identity, group))
        assert replayed == store.replica_log(identity, group).state, f"{identity}'s replica of {group} does not replay"


def logs_agree(store: PeerStore) -> None:
    """The identity log and the replica logs tell one story: a deleted identity has no
    groups left (``PEER_E_GROUPS_EXIST`` guards that); a live identity lists each group
    once, and has a present replica of exactly the groups it lists; and every record a
    replica holds is the record of an envelope it accepted."""
    state = store.identity_log().state
    for record in state.identities.values():
        if not record.live:
            assert not record.groups, f"the deleted identity {record.peer_name} still has groups {record.groups}"
        assert len(set(record.groups)) == len(record.groups), f"{record.peer_name} lists a group twice: {record.groups}"
    attached = {
        (record.peer_name, group) for record in state.identities.values() if record.live for group in record.groups
    }
    for identity, group in store.replica_keys():
        log = store.replica_log(identity, group)
        assert log.state.present == ((identity, group) in attached), (
            f"{identity}'s replica of {group} is {log.state.phase}, but the identity log "
            f"{'lists' if (identity, group) in attached else 'does not list'} it"
        )
        published = {
            event.envelope.payload.record.id for event in store.replica_events(identity, group)
            if isinstance(event, EnvelopeAccepted) and isinstance(event.envelope.payload, RecordPublished)
        }
        assert set(log.state.group.records) <= published, "a replica holds a record no envelope brought"


def sound(store: PeerStore) -> None:
    """``verify_store`` holds, every log replays, and the logs agree."""
    verification = verify_store(store)
    assert verification.holds, "\n".join(map(str, verification.findings))
    replays(store)
    logs_agree(store)
