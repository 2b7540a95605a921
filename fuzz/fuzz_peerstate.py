"""libFuzzer targets (atheris) for every reader of outside input in peerstate.

The invariant is the one ``tests/test_fuzz.py`` checks with Hypothesis: each reader returns
or raises its documented error, and nothing else escapes. Any other exception (or a hang,
or a crash) is reported by libFuzzer with the input that caused it.

    python fuzz/fuzz_peerstate.py --make-corpus fuzz/corpus      # seeds, from the real code
    python fuzz/fuzz_peerstate.py --target=invitation fuzz/corpus/invitation -max_total_time=600
    python fuzz/fuzz_peerstate.py --target=invitation --replay crash-1234   # no atheris needed

See fuzz/README.md. atheris is optional: nothing in the test suite or CI imports this file.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"
GROUP_PASSWORD = "knight-e4-e5"
ATTRIBUTES = (
    '<attributes><attribute name="title" type="string">Opening *notes*</attribute>'
    '<attribute name="moves" type="int">42</attribute>'
    '<attribute name="played" type="date">2025-12-31T23:00:00-01:00</attribute></attributes>'
)
SEARCH = (
    '<peersearch><and><clause attrib="title" type="string" compare="equal">Op*n\\*g ?otes*</clause>'
    '<or><clause attrib="moves" type="int" compare="greater">7</clause>'
    '<clause attrib="played" type="date" compare="lessorequal">2026-01-01</clause></or></and></peersearch>'
)


def _import_peerstate() -> None:
    global PeerError, PeerSettings, Peer, cards, configs, database_files, formats, invitations, network
    global open_store, record_attributes, record_search, sync, wire
    from peerstate import Peer, PeerError, PeerSettings, network, open_store, sync, wire  # noqa: F401
    from peerstate.documents import (  # noqa: F401
        cards, configs, database_files, formats, invitations, record_attributes, record_search,
    )


@functools.cache
def club() -> dict[str, Any]:
    """alice's password group, bob joined and synchronized: the two sides of a conversation,
    and every document the real code writes."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="peerstate-atheris-"))
    alice = Peer(open_store(None), settings=PeerSettings(address="alice", file_root=root), clock=lambda: T0)
    bob = Peer(open_store(None), settings=PeerSettings(address="bob", file_root=root), clock=lambda: T0)
    alice_name, bob_name = alice.create_identity("alice", "Alice"), bob.create_identity("bob", "Bob")
    carol_name = bob.create_identity("carol", "Carol")
    handle = alice.create_group(
        alice_name, "chess", authentication_schemes=2, password=GROUP_PASSWORD, password_role="PEER_GROUP_ROLE_MEMBER",
    )
    alice.connect(handle)
    group = alice.group_properties(handle).group_peer_name
    alice.add_record(handle, "11111111-2222-3333-4444-555555555555", T0 + timedelta(days=1), attributes=ATTRIBUTES)
    joined = bob.password_join(bob_name, alice.create_password_invitation(handle), GROUP_PASSWORD)
    bob.connect(joined.handle)
    network.synchronize({"alice": alice, "bob": bob})
    alice.export_database(handle, "/db.bin")
    keys = {"alice": (alice_name, group), "bob": (bob_name, group)}
    return {
        "alice": alice, "bob": bob, "keys": keys,
        "documents": {
            "identity": alice.identity_xml(alice_name),
            "export": alice.export_identity(alice_name, PASSWORD),
            "password_invitation": alice.create_password_invitation(handle),
            "credential_invitation": alice.create_invitation(handle, bob.identity_xml(carol_name)),
            "config": alice.export_config(handle, PASSWORD),
            "attributes": ATTRIBUTES,
            "search": SEARCH,
        },
        "database": (root / "db.bin").read_bytes(),
    }


def sides() -> tuple[Any, Any]:
    found = club()
    alice, bob, keys = found["alice"], found["bob"], found["keys"]
    connector = sync.Connector(bob, keys["bob"], network.node(alice, keys["alice"]))
    listener = sync.Listener(alice, keys["alice"], network.node(bob, keys["bob"]))
    return connector, listener


def conversation() -> list[bytes]:
    sent: list[bytes] = []
    sync.exchange(*sides(), transcript=sent)
    return sent


def _text(data: bytes) -> str:
    """Bytes as the text a caller could pass: UTF-8, with what is not UTF-8 as lone surrogates."""
    return data.decode("utf-8", "surrogateescape")


def _allowing(call: Callable[[], object], *allowed: type[BaseException]) -> None:
    try:
        call()
    except allowed:
        pass


def target_formats(data: bytes) -> None:
    text = _text(data)
    for read in (
        formats.safe_parse, formats.read_identity_info_xml, formats.read_identity_export_xml,
        formats.read_invitation_xml, formats.read_group_config_xml,
    ):
        _allowing(lambda: read(text), formats.MalformedDocument)


def target_invitation(data: bytes) -> None:
    _allowing(lambda: invitations.read_invitation(_text(data)), PeerError)


def target_config(data: bytes) -> None:
    """The configuration's text, then (after a NUL byte, if any) the password."""
    text, _, password = data.partition(b"\x00")
    _allowing(lambda: configs.read_group_config(_text(text), _text(password) or PASSWORD), PeerError)


def target_card(data: bytes) -> None:
    _allowing(lambda: cards.identity_card(_text(data), "pwzIdentityInfo"), PeerError)
    _allowing(lambda: cards.public_key(data, "pPublicKey"), PeerError)


def target_attributes(data: bytes) -> None:
    _allowing(lambda: record_attributes.read_attributes(_text(data)), PeerError)
    _allowing(lambda: record_attributes.parse_w3c_datetime(_text(data)), ValueError)


def target_search(data: bytes) -> None:
    """A query, then (after a NUL byte, if any) a record's attributes to match it against."""
    query_text, _, attributes_text = data.partition(b"\x00")
    try:
        query = record_search.read_search(_text(query_text))
        attributes = record_attributes.read_attributes(_text(attributes_text) or ATTRIBUTES)
    except PeerError:
        return
    record_search.matches(query, attributes)


def target_wire(data: bytes) -> None:
    for kind in (sync.Message, sync.Hello, sync.Challenge, sync.Proof, sync.Batch, sync.More, sync.End, sync.Refusal):
        _allowing(lambda: wire.decode(data, kind), wire.WireError)
    _allowing(lambda: database_files.decode(data), PeerError)


def target_listener(data: bytes) -> None:
    _, listener = sides()
    for message in data.split(b"\x00\x00")[:3]:
        reply = listener.receive(message)
        assert reply is None or isinstance(reply, bytes)


def target_connector(data: bytes) -> None:
    connector, _ = sides()
    connector.start()
    for message in data.split(b"\x00\x00")[:3]:
        reply = connector.receive(message)
        assert reply is None or isinstance(reply, bytes)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "formats": target_formats, "invitation": target_invitation, "config": target_config, "card": target_card,
    "attributes": target_attributes, "search": target_search, "wire": target_wire,
    "listener": target_listener, "connector": target_connector,
}


def make_corpus(directory: Path) -> None:
    """Seed inputs for each target: what the real code writes."""
    found = club()
    documents = found["documents"]
    messages = conversation()
    seeds: dict[str, list[bytes]] = {
        "formats": [text.encode() for text in documents.values()],
        "invitation": [documents["password_invitation"].encode(), documents["credential_invitation"].encode()],
        "config": [documents["config"].encode() + b"\x00" + PASSWORD.encode()],
        "card": [documents["identity"].encode()],
        "attributes": [ATTRIBUTES.encode(), b"2003-02-01T10:00:00.5+01:00"],
        "search": [SEARCH.encode() + b"\x00" + ATTRIBUTES.encode()],
        "wire": [*messages, found["database"]],
        "listener": [messages[0], messages[0] + b"\x00\x00" + messages[2]],
        "connector": [messages[1]],
    }
    for target, inputs in seeds.items():
        (directory / target).mkdir(parents=True, exist_ok=True)
        for index, seed in enumerate(inputs):
            (directory / target / f"seed-{index}").write_bytes(seed)


def main(argv: list[str]) -> None:
    if len(argv) >= 3 and argv[1] == "--make-corpus":
        _import_peerstate()
        make_corpus(Path(argv[2]))
        return
    chosen = [arg.split("=", 1)[1] for arg in argv[1:] if arg.startswith("--target=")]
    if len(chosen) != 1 or chosen[0] not in TARGETS:
        sys.exit(f"usage: {argv[0]} --target={{{','.join(TARGETS)}}} [--replay] [libFuzzer options] [corpus dir or file]")
    if "--replay" in argv:  # run the target over files, without atheris: seeds, crashers, a corpus
        _import_peerstate()
        paths = [Path(arg) for arg in argv[1:] if not arg.startswith("-")]
        for path in (p for given in paths for p in (sorted(given.iterdir()) if given.is_dir() else [given])):
            TARGETS[chosen[0]](path.read_bytes())
            print(f"ok {path}")
        return
    import atheris

    with atheris.instrument_imports():
        _import_peerstate()
    target = TARGETS[chosen[0]]
    if chosen[0] in ("invitation", "config", "listener", "connector"):
        club()  # the keys and the group are made once, before fuzzing starts
    atheris.Setup([arg for arg in argv if not arg.startswith("--target=")], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
