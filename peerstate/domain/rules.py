"""Every check a command or an envelope must pass, one registered rule each
(``peerstate.registry``), named after what it checks.

A rule either returns what the command needs next or refuses with the HRESULT that Windows
documents for that case; it never changes anything, so a refused command leaves no trace.
"""

from __future__ import annotations

import math

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from peerstate.domain.group_events import (
    Credential,
    CredentialIssued,
    CredentialTaken,
    Envelope,
    GroupCreated,
    GroupProperties,
    IdentityRetired,
    MembershipPublished,
    PasswordVerifier,
    PresencePublished,
    PropertiesChanged,
    RecordPublished,
)
from peerstate.bounds import MAX_CHAIN_LENGTH, MAX_ENVELOPE_AHEAD_SECONDS, key_derivation_bounded, value_problem
from peerstate.domain.context import credential_in_context, in_context
from peerstate.domain.group_rules import properties_in_range
from peerstate.domain.group_state import GroupState
from peerstate.domain.rank import issues_within_rank
from peerstate.domain.record_rules import record_publication_permitted
from peerstate.domain.replica import Guesses, GuessStarted, ReplicaState, WrongPasswords
from peerstate.domain.state import IdentityRecord, IdentityStoreState
from peerstate.constants import PeerGroupAuthenticationScheme
from peerstate.errors import ErrorName
from peerstate.names import (
    ROLE_ADMIN,
    ROLE_MEMBER,
    ROLE_NAMES,
    classifier_is_valid,
    friendly_name_is_valid,
    may_issue,
    peer_name_is_well_formed,
    text_is_printable,
)
from peerstate.registry import Refusal, rule

PASSWORD_AUTHENTICATION: Final = PeerGroupAuthenticationScheme.PEER_GROUP_PASSWORD_AUTHENTICATION
FREE_GUESSES: Final = 3
"""Wrong passwords one joiner, or joiners from one address, may try in a row before they
have to wait."""
FREE_GROUP_GUESSES: Final = 10
"""Wrong passwords all joiners together may try in a row at one member before those from an
address that guessed wrong wait."""
LONGEST_WAIT: Final = timedelta(hours=1)
DOUBLINGS_TO_LONGEST_WAIT: Final = math.ceil(math.log2(LONGEST_WAIT.total_seconds()))
"""How many times the wait doubles from 1 s before it reaches ``LONGEST_WAIT``: past that
the count no longer matters, so a count read from a store (as large as an edit makes it)
is never raised to a power beyond it."""
FIXED_PROPERTIES: Final = (
    "group_peer_name", "creator_peer_name", "cloud", "classifier", "member_data_lifetime",
    "presence_lifetime", "authentication_schemes",
)
"""Fixed at creation: the SetProperties page's list, plus the lifetimes and authentication
schemes that MS-PPSEC 2.2.3.1 fixes too."""


@rule("PEER_E_NOT_FOUND")
def identity_is_live(state: IdentityStoreState, peer_name: str) -> IdentityRecord:
    """The identity must be on this peer and not deleted (``PEER_E_NOT_FOUND``)."""
    record = state.identities.get(peer_name)
    if record is None:
        raise Refusal(f"there is no identity {peer_name!r} on this peer")
    if not record.live:
        raise Refusal(f"the identity {peer_name!r} was deleted from this peer")
    return record


@rule("PEER_E_ALREADY_EXISTS")
def identity_is_new(state: IdentityStoreState, peer_name: str) -> None:
    """A created or imported identity must not already be live here (``PEER_E_ALREADY_EXISTS``)."""
    if state.live(peer_name) is not None:
        raise Refusal(f"the identity {peer_name!r} is already on this peer")


@rule("PEER_E_GROUPS_EXIST")
def identity_has_no_groups(peer_name: str, groups: Collection[str]) -> None:
    """An identity that still has groups on this peer cannot be deleted (``PEER_E_GROUPS_EXIST``)."""
    if groups:
        raise Refusal(
            f"the identity {peer_name!r} still has {len(groups)} group(s) here: "
            f"delete {', '.join(sorted(groups))} first"
        )



@rule("PEER_E_INVALID_PEER_NAME", "E_INVALIDARG")
def identity_is_here(state: IdentityStoreState, peer_name: str, code: ErrorName) -> IdentityRecord:
    """A name a call says is one of this peer's identities must be one (``code`` otherwise)."""
    record = state.live(peer_name)
    if record is None:
        raise Refusal(f"{peer_name!r} is not an identity on this peer", code)
    return record


@rule("ERROR_DELETE_PENDING")
def creator_is_live(state: IdentityStoreState, peer_name: str) -> IdentityRecord:
    """A group's creator must be a live identity here: a deleted one gives
    ``ERROR_DELETE_PENDING``, an unknown one ``PEER_E_INVALID_PEER_NAME``."""
    record = state.identities.get(peer_name)
    if record is not None and not record.live:
        raise Refusal(f"the identity {peer_name!r} was deleted from this peer")
    return identity_is_here(state, peer_name, "PEER_E_INVALID_PEER_NAME")


@rule("PEER_E_NO_KEY_ACCESS")
def keys_unlocked(locked: bool) -> None:
    """A call that signs, seals or opens a secret needs the keys unlocked: a peer opened
    without its passphrase reads, but cannot use its keys (``PEER_E_NO_KEY_ACCESS``); nor
    store anything, since a protected store's commits are sealed under a key the
    passphrase gives (``storage.store_seal``)."""
    if locked:
        raise Refusal("this peer was opened without its passphrase: its keys are locked")


# Group properties ---------------------------------------------------------------------------


@rule("PEER_E_INVALID_GROUP_PROPERTIES")
def password_settings_complete(schemes: int, has_password: bool, role: UUID | None) -> None:
    """A group with password authentication needs a password and a password role of
    administrator or member (``PEER_E_INVALID_GROUP_PROPERTIES``)."""
    if not schemes & PASSWORD_AUTHENTICATION:
        return
    if not has_password:
        raise Refusal("PEER_GROUP_PASSWORD_AUTHENTICATION needs pwzGroupPassword")
    if role not in (ROLE_ADMIN, ROLE_MEMBER):
        raise Refusal("groupPasswordRole must be PEER_GROUP_ROLE_ADMIN or PEER_GROUP_ROLE_MEMBER")


@rule("PEER_E_PASSWORD_DOES_NOT_MEET_POLICY")
def password_meets_policy(password: str | None, min_length: int) -> None:
    """A group password must be at least the peer's minimum length
    (``PEER_E_PASSWORD_DOES_NOT_MEET_POLICY``)."""
    if password is not None and len(password) < min_length:
        raise Refusal(f"the group password has {len(password)} characters; this peer's policy asks for {min_length}")


@rule("PEER_E_INVALID_GROUP_PROPERTIES")
def verifier_cost_is_bounded(verifier: PasswordVerifier) -> None:
    """A group password's verifier is derived at a cost a joiner can pay: its salt and
    Argon2id passes, lanes and memory within ``peerstate.bounds``
    (``PEER_E_INVALID_GROUP_PROPERTIES``), as the calls derive it and as a joiner checks the
    invitation that carries them."""
    if not key_derivation_bounded(verifier.salt, verifier.iterations, verifier.lanes, verifier.memory_cost):
        raise Refusal("the group password's key derivation is outside what a joiner derives with")


@rule("PEER_E_INVALID_GROUP_PROPERTIES")
def verifier_is_one_scheme(verifier: PasswordVerifier) -> None:
    """A group password is kept one way or the other (``PEER_E_INVALID_GROUP_PROPERTIES``):
    as a group made before the password exchange kept it (the stretched value in
    ``verifier``, no SRP fields), or as the exchange does (an empty ``verifier``, an SRP
    salt and verifier). One with neither would be checked by an HMAC keyed by nothing,
    which anyone computes; one with both would keep a value a joiner could prove with."""
    old = bool(verifier.verifier) and verifier.pake_salt is None and verifier.pake_verifier is None
    new = not verifier.verifier and bool(verifier.pake_salt) and bool(verifier.pake_verifier)
    if not (old or new):
        raise Refusal("the group password is kept neither as a verifier nor as an SRP verifier, or as both")


def properties_are_valid(properties: GroupProperties) -> None:
    """What the calls check of the properties they create a group with or set, each by its
    own rule: the names, the cloud's name, the friendly name and comment, the classifier,
    the flags and lifetimes, the password settings, the verifier's cost and its scheme."""
    peer_name_is_well_formed(properties.group_peer_name)
    peer_name_is_well_formed(properties.creator_peer_name)
    text_is_printable(properties.cloud, "the cloud's name", "PEER_E_INVALID_GROUP_PROPERTIES")
    friendly_name_is_valid(properties.friendly_name, "PEER_E_INVALID_GROUP_PROPERTIES")
    friendly_name_is_valid(properties.comment, "PEER_E_INVALID_GROUP_PROPERTIES")
    classifier_is_valid(properties.classifier, "PEER_E_INVALID_CLASSIFIER")
    properties_in_range(
        properties.flags, properties.member_data_lifetime, properties.presence_lifetime, properties.authentication_schemes,
    )
    password_settings_complete(properties.authentication_schemes, properties.password is not None, properties.password_role)
    if properties.password is not None:
        verifier_cost_is_bounded(properties.password)
        verifier_is_one_scheme(properties.password)


@rule("PEER_E_INVALID_GROUP_PROPERTIES")
def fixed_properties_unchanged(old: GroupProperties, new: GroupProperties) -> None:
    """Cloud, classifier, names, lifetimes and authentication schemes are fixed at creation
    (``PEER_E_INVALID_GROUP_PROPERTIES``)."""
    for field in FIXED_PROPERTIES:
        if getattr(old, field) != getattr(new, field):
            raise Refusal(f"{field} is fixed when the group is created")


# Group commands -----------------------------------------------------------------------------


@rule("PEER_E_GROUP_NOT_READY")
def replica_is_ready(replica: ReplicaState) -> GroupProperties:
    """A call that needs the group database needs a synchronized replica
    (``PEER_E_GROUP_NOT_READY``)."""
    if not replica.synchronized or replica.group.properties is None:
        raise Refusal(
            f"the replica of {replica.group.group_peer_name!r} has not synchronized with the group yet: "
            "connect and let it synchronize"
        )
    return replica.group.properties


@rule("PEER_E_IDENTITY_DELETED")
def identity_not_retired(group: GroupState, peer_name: str) -> None:
    """An identity whose deletion the group log holds cannot act or be given credentials
    (``PEER_E_IDENTITY_DELETED``)."""
    if peer_name in group.retired:
        raise Refusal(f"the group log says the identity {peer_name!r} was deleted")


@rule("PEER_E_IDENTITY_DELETED")
def subject_not_deleted(store: IdentityStoreState, group: GroupState, peer_name: str) -> None:
    """No credential for an identity deleted on this peer or, by the group log, anywhere
    (``PEER_E_IDENTITY_DELETED``)."""
    record = store.identities.get(peer_name)
    if record is not None and not record.live:
        raise Refusal(f"the identity {peer_name!r} was deleted from this peer")
    identity_not_retired(group, peer_name)


@rule("PEER_E_INVALID_PEER_NAME")
def invitation_is_for(subject: str, subject_key: bytes, peer_name: str, key: bytes) -> None:
    """A credential invitation names one identity; no other may join with it
    (``PEER_E_INVALID_PEER_NAME``)."""
    if subject != peer_name:
        raise Refusal(f"the invitation is for {subject!r}, not for {peer_name!r}")
    if subject_key != key:
        raise Refusal(f"the invitation is for another key of {subject!r} than this peer holds")


@rule("PEER_E_INVALID_TIME_PERIOD")
def invitation_in_time(valid_from: datetime, valid_until: datetime, now: datetime) -> None:
    """An invitation is used inside its validity window (``PEER_E_INVALID_TIME_PERIOD``)."""
    if not valid_from <= now <= valid_until:
        raise Refusal(f"the invitation is valid from {valid_from.isoformat()} to {valid_until.isoformat()}, not at {now.isoformat()}")


def _retry_at(guesses: Guesses, free: int) -> datetime | None:
    """When the next guess may come: after ``free`` wrong passwords in a row, the wait
    doubles with each further one (1 s, 2 s, 4 s ...) up to an hour."""
    if guesses.count < free or guesses.last is None:
        return None
    return guesses.last + min(timedelta(seconds=2 ** min(guesses.count - free, DOUBLINGS_TO_LONGEST_WAIT)), LONGEST_WAIT)


@rule("PEER_E_CONNECTION_REFUSED")
def password_guess_allowed(wrong: WrongPasswords, joiner: str, address: str, now: datetime, started: Collection[GuessStarted]) -> None:
    """An authenticating member checks a joiner's password only when neither that joiner,
    nor the address it connects from, has guessed wrong too often too recently; nor the
    group, for an address that has guessed wrong (``PEER_E_CONNECTION_REFUSED``). Guesses
    ``started`` and not yet proven count as wrong ones, so parallel conversations count
    every guess they start. An online guessing run is slowed to a few guesses an hour per
    address; the group's budget binds only addresses that guessed wrong, so a guesser
    cannot spend it to keep a joiner elsewhere out; and an attempt turned away is not
    counted, so the rightful joiner waits at most the longest wait."""
    from_address = _with_started(wrong.of_address(address), [guess for guess in started if guess.address == address])
    limits = [
        (_with_started(wrong.of_joiner(joiner), [guess for guess in started if guess.joiner == joiner]), FREE_GUESSES, f"{joiner!r} has"),
        (from_address, FREE_GUESSES, f"{address!r} has"),
    ]
    if from_address.count:
        limits.append((_with_started(wrong.group, started), FREE_GROUP_GUESSES, "joiners have"))
    for guesses, free, whose in limits:
        retry = _retry_at(guesses, free)
        if retry is not None and now < retry:
            raise Refusal(f"{whose} given {guesses.count} wrong passwords in a row; the next try is checked from {retry.isoformat()}")


def _with_started(guesses: Guesses, started: Collection[GuessStarted]) -> Guesses:
    """``guesses`` with each guess under way counted as a wrong one, at the time it began."""
    for guess in sorted(started, key=lambda guess: guess.at):
        guesses = guesses.after(max(guess.at, guesses.last or guess.at))
    return guesses


@rule("PEER_E_NOT_AUTHORIZED")
def caller_holds_credential(group: GroupState, peer_name: str, at: datetime) -> Credential:
    """The caller needs a GMC valid now (``PEER_E_NOT_AUTHORIZED``)."""
    credential = group.credential_of(peer_name, at)
    if credential is None:
        raise Refusal(f"{peer_name!r} holds no credential of this group valid now")
    return credential


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def member_list_holds_credential(group: GroupState, peer_name: str, public_key: bytes, at: datetime) -> Credential:
    """A member that connects showing no GMC, its own having expired, is let in only when
    the group's member list holds one delivered to it, valid now and for the key it shows
    (MS-PPSEC 3.3.5.2.2): a renewal stored for it, which it takes up from the group data
    (``PEER_E_CONNECTION_NOT_AUTHENTICATED``)."""
    credential = group.credential_of(peer_name, at)
    if credential is None or credential.public_key != public_key:
        raise Refusal(f"the member list holds no credential of {peer_name!r} valid now for its key")
    return credential


@rule("PEER_E_NOT_AUTHORIZED")
def caller_is_creator(group: GroupProperties, peer_name: str) -> None:
    """Only the creator may change the group's properties (``PEER_E_NOT_AUTHORIZED``)."""
    if peer_name != group.creator_peer_name:
        raise Refusal("only the group's creator may change its properties")


@rule("E_INVALIDARG")
def group_uses_password(properties: GroupProperties) -> tuple[PasswordVerifier, UUID]:
    """Password invitations need a group made with password authentication (``E_INVALIDARG``)."""
    if (
        not properties.authentication_schemes & PASSWORD_AUTHENTICATION
        or properties.password is None or properties.password_role is None
    ):
        raise Refusal("the group was not created with PEER_GROUP_PASSWORD_AUTHENTICATION")
    return properties.password, properties.password_role


@rule("PEER_E_NOT_AUTHORIZED")
def may_grant_roles(credential: Credential, roles: Collection[UUID]) -> None:
    """Giving out roles (a credential, an invitation, a password join's authentication)
    needs a role that may issue them: an administrator any role, an inviting member the
    inviting-member and member roles, a member none (``PEER_E_NOT_AUTHORIZED``)."""
    if not may_issue(credential.roles, roles):
        raise Refusal(f"a holder of {_role_list(credential.roles)} may not give out {_role_list(roles)}")


@rule("PEER_E_CIRCULAR_CHAIN_DETECTED")
def chain_not_circular(group: GroupState, issuer: Credential, subject: str) -> None:
    """A credential may not be issued to anyone already in its issuer's chain, the issuer
    included: A invites B, then B invites A (``PEER_E_CIRCULAR_CHAIN_DETECTED``)."""
    if subject in {link.subject for link in group.chain_of(issuer)}:
        raise Refusal(f"{subject!r} is already in its issuer's credential chain")


@rule("E_INVALIDARG")
def validity_within_issuer(
    issuer: Credential, start: datetime, end: datetime | None,
) -> tuple[datetime, datetime]:
    """A credential's validity: from ``start`` to ``end`` (None: as long as the issuer's),
    cut to the issuer's own, since a credential never outlives its issuer's; nothing left
    once cut is ``E_INVALIDARG``."""
    start = max(start, issuer.not_before)
    end = issuer.not_after if end is None else min(end, issuer.not_after)
    if end <= start:
        raise Refusal(
            f"the validity ends at {end.isoformat()}, not after its start {start.isoformat()} "
            f"(the issuer's own credential runs to {issuer.not_after.isoformat()})"
        )
    return start, end


@rule("PEER_E_NOT_AUTHORIZED")
def password_proof_matches(matches: bool) -> None:
    """A password joiner proves the group password: its proof is the one the group's
    verifier gives over the authentication transcript (``PEER_E_NOT_AUTHORIZED``). The
    crypto is sync's, and the count of wrong passwords the throttle's (``WrongPasswords``);
    a log written before counts a ``JoinRefused`` under this rule's name as one
    (``domain.replica.WRONG_PASSWORD_RULE``)."""
    if not matches:
        raise Refusal("the group password is wrong")


def may_answer_password_joiner(replica: ReplicaState, identity: str, at: datetime) -> tuple[Credential, PasswordVerifier, UUID]:
    """The one answer to "may this member answer a password joiner": the replica is ready,
    the group takes passwords, the member was not deleted and holds a credential now whose
    role may give the password role, with room in its chain for the joiner's. Every place
    that answers a joiner asks here: a password invitation, the listener's ``Hello``, and
    the credential it issues. The member's credential, the group's verifier and role."""
    properties = replica_is_ready(replica)
    verifier, role = group_uses_password(properties)
    identity_not_retired(replica.group, identity)
    credential = caller_holds_credential(replica.group, identity, at)
    may_grant_roles(credential, [role])
    chain_has_room(credential)
    return credential, verifier, role


@rule("PEER_E_CHAIN_TOO_LONG")
def chain_has_room(credential: Credential) -> None:
    """An issuer whose own chain is 24 long cannot extend it (``PEER_E_CHAIN_TOO_LONG``)."""
    if credential.chain_length >= MAX_CHAIN_LENGTH:
        raise Refusal(
            f"the caller's credential chain is {credential.chain_length} long; "
            f"a credential it issued would pass the limit of {MAX_CHAIN_LENGTH}"
        )


# Envelopes: every one, made here or received, passes these before it is accepted ------------


@rule("PEER_E_INVALID_RECORD")
def envelope_within_bounds(envelope: Envelope) -> None:
    """Every field of an envelope, its payload's included, is within its bound in the table
    of bounds, its Windows type's or its size's (``peerstate.bounds.FIELDS``;
    ``PEER_E_INVALID_RECORD``): the bounds sync's decoder holds a message to, kept here
    whatever path an envelope came by, so that no replica stores what another's decoder
    would refuse, nor a number its store cannot read back."""
    problem = value_problem(envelope)
    if problem is not None:
        raise Refusal(f"the envelope is out of bounds at {problem}")


@rule("PEER_E_INVALID_RECORD")
def envelope_is_for_group(group: GroupState, envelope: Envelope) -> None:
    """An envelope is for the group whose log it would join (``PEER_E_INVALID_RECORD``)."""
    if envelope.group != group.group_peer_name:
        raise Refusal(f"the envelope belongs to {envelope.group!r}, not to this group")


@rule("PEER_E_INVALID_RECORD")
def genesis_comes_first(group: GroupState, envelope: Envelope) -> None:
    """The group's creation is its first envelope, and there is only one."""
    creating = isinstance(envelope.payload, GroupCreated)
    if creating and group.founded:
        raise Refusal("the group was already created")
    if not creating and not group.founded:
        raise Refusal("an envelope arrived before the group's creation")


@rule("PEER_E_NOT_AUTHORIZED", "PEER_E_INVALID_TIME_PERIOD")
def author_holds_credential(group: GroupState, envelope: Envelope) -> Credential:
    """The envelope's credential must be one the group issued to its author, valid when the
    envelope was written (``PEER_E_NOT_AUTHORIZED``, ``PEER_E_INVALID_TIME_PERIOD``)."""
    payload = envelope.payload
    if isinstance(payload, GroupCreated) and payload.creator.fingerprint == envelope.credential:
        credential: Credential | None = payload.creator
    elif isinstance(payload, CredentialTaken) and payload.chain and payload.chain[-1].fingerprint == envelope.credential:
        credential = payload.chain[-1]
    else:
        credential = group.credentials.get(envelope.credential)
    if credential is None or credential.subject != envelope.author:
        raise Refusal(f"{envelope.author!r} wrote under a credential this group never gave it")
    if not credential.not_before <= envelope.at <= credential.not_after:
        raise Refusal(f"the credential of {envelope.author!r} was not valid at {envelope.at.isoformat()}", "PEER_E_INVALID_TIME_PERIOD")
    return credential


@rule("PEER_E_NOT_AUTHORIZED")
def credential_in_force_in_context(group: GroupState, envelope: Envelope, credential: Credential) -> None:
    """An envelope is written under its author's credential in force in its own context: no
    other credential of its author's that it had seen (delivered in its context,
    ``in_context``) supersedes the one it names (``GroupState.supersedes``,
    ``PEER_E_NOT_AUTHORIZED``). A credential superseded never comes back, whatever time its
    holder dates what it writes, and whichever of its credentials it names."""
    if credential.fingerprint not in group.places:
        return  # carried by the envelope itself (a founding, a chain taken up): delivered by it
    for fingerprint in group.delivered_to.get(envelope.author, ()):
        if fingerprint != credential.fingerprint and group.supersedes(fingerprint, credential.fingerprint) and any(
            in_context(envelope, place.author, place.seq) for place in group.places[fingerprint]
        ):
            raise Refusal(f"{envelope.author!r} wrote under a credential that one it had seen superseded")


@rule("PEER_E_INVALID_RECORD")
def author_has_not_forked(group: GroupState, envelope: Envelope) -> None:
    """Nothing of an author's chain from the place it forked at on is taken
    (``PEER_E_INVALID_RECORD``): it signed two envelopes there, and a replica that took
    either branch must end as one that saw the fork first (``domain.forks``)."""
    point = group.forked.get(envelope.author)
    if point is not None and envelope.seq >= point:
        raise Refusal(f"{envelope.author!r} forked its chain at {point}: its envelope {envelope.seq} is not taken")


@rule("PEER_E_INVALID_RECORD")
def author_chain_continues(group: GroupState, envelope: Envelope) -> None:
    """Each author's envelopes form a chain: the next sequence number, naming the id of the
    one before. A gap, a reordering, a replay or a fork breaks it (``PEER_E_INVALID_RECORD``)."""
    head = group.heads.get(envelope.author)
    seq, last = (head.seq, head.last) if head is not None else (0, b"")
    if envelope.seq != seq + 1 or envelope.prev != last:
        raise Refusal(f"envelope {envelope.seq} by {envelope.author!r} does not follow its envelope {seq}")


@rule("PEER_E_INVALID_RECORD")
def context_is_well_formed(envelope: Envelope) -> None:
    """An envelope's context cites each other author's chain once, in author order, and never
    its own author's, which ``prev`` cites (``PEER_E_INVALID_RECORD``): one context, one
    encoding, and no envelope that cites itself."""
    cited = [seen.author for seen in envelope.context or ()]
    if envelope.author in cited or any(first >= second for first, second in zip(cited, cited[1:])):
        raise Refusal(f"envelope {envelope.seq} by {envelope.author!r} cites a context that is not in author order, once each, without its own chain")


@rule("PEER_E_INVALID_RECORD")
def context_is_here(group: GroupState, envelope: Envelope) -> None:
    """Every place an envelope's context cites is here: each cited chain holds at least that
    far (``PEER_E_INVALID_RECORD``). An envelope is judged in what its author had seen, so
    it waits for what this replica has not seen yet (``sync.cutting.waits``)."""
    for seen in envelope.context or ():
        head = group.heads.get(seen.author)
        if head is None or head.seq < seen.seq:
            raise Refusal(f"envelope {envelope.seq} by {envelope.author!r} cites envelope {seen.seq} of {seen.author!r}, not here")


@rule("PEER_E_INVALID_TIME_PERIOD")
def envelope_time_follows_context(group: GroupState, envelope: Envelope) -> None:
    """An envelope that cites a context is dated no earlier than the envelope before it in
    its chain, nor than any delivery of its author's credentials in its context
    (``PEER_E_INVALID_TIME_PERIOD``): an author may choose its envelopes' times, but not
    date one before what it had seen."""
    if envelope.context is None:
        return
    head = group.heads.get(envelope.author)
    earliest = [head.at] if head is not None and head.at is not None else []
    earliest += [
        place.at for fingerprint in group.delivered_to.get(envelope.author, ()) for place in group.places[fingerprint]
        if in_context(envelope, place.author, place.seq)
    ]
    if earliest and envelope.at < max(earliest):
        raise Refusal(f"envelope {envelope.seq} by {envelope.author!r} is dated {envelope.at.isoformat()}, before {max(earliest).isoformat()}, which it had seen")


@rule("PEER_E_INVALID_TIME_PERIOD")
def envelope_time_reached(envelope: Envelope, peer_now: datetime) -> None:
    """An envelope is dated no later than the receiver's peer time ``peer_now`` plus
    ``MAX_ENVELOPE_AHEAD_SECONDS`` (``PEER_E_INVALID_TIME_PERIOD``). Its time is the author's
    choice; the receiver's peer time bounds it, so one dated past it waits for its time
    (``sync.cutting.waits``) rather than take effect early."""
    if envelope.at > peer_now + timedelta(seconds=MAX_ENVELOPE_AHEAD_SECONDS):
        raise Refusal(f"envelope {envelope.seq} by {envelope.author!r} is dated {envelope.at.isoformat()}, past the group's time")


@rule("PEER_E_INVALID_RECORD")
def genesis_names_its_creator(envelope: Envelope, created: GroupCreated) -> None:
    """The creation is written by the creator, as a root-issued administrator of chain length 1."""
    creator = created.creator
    properties = created.properties
    if not (
        envelope.author == properties.creator_peer_name == creator.subject
        and creator.issuer is None and creator.chain_length == 1 and ROLE_ADMIN in creator.roles
        and properties.group_peer_name == envelope.group
    ):
        raise Refusal("the group's creation does not name its creator as its administrator")


@rule("PEER_E_INVALID_CREDENTIAL", "PEER_E_INVALID_TIME_PERIOD")
def credential_within_issuer(group: GroupState, issuer: Credential, issued: Credential) -> None:
    """A credential is issued by the author's own credential, for roles the author may give,
    one link further, within the issuer's lifetime and under the chain limit."""
    if issued.issuer != issuer.fingerprint or issued.chain_length != issuer.chain_length + 1:
        raise Refusal("the credential does not name its issuer's credential")
    chain_has_room(issuer)
    may_grant_roles(issuer, issued.roles)
    chain_not_circular(group, issuer, issued.subject)
    if not issuer.not_before <= issued.not_before <= issued.not_after <= issuer.not_after:
        raise Refusal("the credential outlives its issuer's", "PEER_E_INVALID_TIME_PERIOD")


@rule("PEER_E_NOT_AUTHORIZED")
def issuer_within_rank(group: GroupState, envelope: Envelope, issued: Credential) -> None:
    """A credential is issued only to a subject whose credential in force, as the issuer had
    seen it and valid then, lies no nearer the group root than the issuer's own
    (``issues_within_rank``, ``PEER_E_NOT_AUTHORIZED``): an administrator demotes only
    those it ranks with or above. Otherwise one that a nearer administrator demotes could
    keep that demotion void for ever, by demoting its demoter at once every time (a
    departure from Windows, which lets any administrator issue to anyone). Held to
    envelopes that cite a context; those written before keep the verdict they had."""
    if envelope.context is None:
        return
    held = credential_in_context(group, envelope, issued.subject)
    if held is not None and held.not_before <= envelope.at <= held.not_after and not issues_within_rank(issued, held):
        raise Refusal(
            f"{envelope.author!r}, {issued.chain_length - 1} links from the root, may not issue a credential to "
            f"{issued.subject!r}, whose credential is {held.chain_length}"
        )


@rule("PEER_E_INVALID_CREDENTIAL", "PEER_E_CIRCULAR_CHAIN_DETECTED")
def taken_chain_is_whole(group: GroupState, envelope: Envelope, chain: tuple[Credential, ...]) -> None:
    """A credential taken up comes with its whole chain from the root, each link issued by
    the one before within its rights and lifetime, no subject twice, no longer than the
    limit, and the last link the author's own (``PEER_E_INVALID_CREDENTIAL``; the
    certificates themselves are checked by admission's crypto)."""
    if not chain or len(chain) > MAX_CHAIN_LENGTH or chain[-1].subject != envelope.author:
        raise Refusal("the chain taken up is empty, too long or not the author's")
    if len({link.subject for link in chain}) != len(chain):
        raise Refusal("a subject appears twice in the chain taken up", "PEER_E_CIRCULAR_CHAIN_DETECTED")
    parent: Credential | None = None
    for link in chain:
        if link.issuer != (parent.fingerprint if parent else None) or link.chain_length != (parent.chain_length + 1 if parent else 1):
            raise Refusal("a link of the chain taken up does not name the one before")
        if parent is not None and (
            not may_issue(parent.roles, link.roles)
            or not parent.not_before <= link.not_before <= link.not_after <= parent.not_after
        ):
            raise Refusal("a link of the chain taken up exceeds its issuer's rights or lifetime")
        parent = link


def payload_is_permitted(group: GroupState, envelope: Envelope, credential: Credential) -> None:
    """What the payload does must be within its author's rights, and what it says must pass
    the checks the calls make of what they write (names, texts, properties), in the calls'
    order. The author's own name is its credential's subject, checked where the
    credential came in."""
    match envelope.payload:
        case GroupCreated() as created:
            genesis_names_its_creator(envelope, created)
            properties_are_valid(created.properties)
            credential_names_are_valid(created.creator)
        case PropertiesChanged(properties):
            assert group.properties is not None  # genesis_comes_first
            caller_is_creator(group.properties, envelope.author)
            fixed_properties_unchanged(group.properties, properties)
            properties_are_valid(properties)
        case CredentialIssued(issued, _):
            credential_names_are_valid(issued)
            credential_within_issuer(group, credential, issued)
            issuer_within_rank(group, envelope, issued)
        case CredentialTaken(chain):
            for link in chain:
                credential_names_are_valid(link)
            taken_chain_is_whole(group, envelope, chain)
        case RecordPublished(record):
            peer_name_is_well_formed(record.creator)
            record_publication_permitted(envelope, record, credential)
        case MembershipPublished(friendly_name):
            friendly_name_is_valid(friendly_name, "PEER_E_INVALID_RECORD")
        case PresencePublished(address, until):
            text_is_printable(address, "the presence address")
            presence_within_credential(envelope, until, credential)
        case IdentityRetired(peer_name, _, _):
            peer_name_is_well_formed(peer_name)


@rule("PEER_E_INVALID_TIME_PERIOD")
def presence_within_credential(envelope: Envelope, until: datetime, credential: Credential) -> None:
    """A member is present no longer than its credential lasts (``PEER_E_INVALID_TIME_PERIOD``):
    what a member publishes does not outlive its credential, so a presence dated inside an
    old validity ends with it. Held to envelopes that cite a context; those written before
    keep the verdict they had."""
    if envelope.context is not None and until > credential.not_after:
        raise Refusal(f"the presence lasts until {until.isoformat()}, after its author's credential ends {credential.not_after.isoformat()}")


def credential_names_are_valid(credential: Credential) -> None:
    """A credential names its subject by a peer name, and gives it a friendly name as the
    calls check one (``PEER_E_INVALID_RECORD``): what every member's list then shows."""
    peer_name_is_well_formed(credential.subject)
    friendly_name_is_valid(credential.subject_friendly_name, "PEER_E_INVALID_RECORD")


def _role_list(roles: Collection[UUID]) -> str:
    return ", ".join(ROLE_NAMES.get(role, str(role)) for role in roles) or "no role"
