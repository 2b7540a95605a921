"""The hostile input corpus of ``tests/corpus/``: how its cases are read, the peer they run
against, the entry points of each format, the cases built at run time from certificates, and
the recipes that derive the static attack files from each format's control document.

``tests/test_corpus.py`` describes the layout and runs every case; this module only knows how
to turn a case into the text an entry point takes. ``python -m tests.corpus_cases`` rewrites the
static payload files from the controls (``_valid*.xml``, which are written once, with keys of
their own, if missing), so every derived file can be made again and checked against its recipe.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, cast
from uuid import UUID

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from peerstate import Peer, PeerStore, crypto, open_store
from peerstate.documents import cards, configs, formats, invitations, record_attributes, record_search
from peerstate.crypto import credentials
from peerstate.crypto import PrivateKey
from peerstate.names import ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER, authority_of

from tests.conftest import T0

CORPUS: Final = Path(__file__).resolve().parent / "corpus"
PASSWORD: Final = "corpus password"
"""The password of the controls (exports, configurations) and of every password join."""
RECORD_TYPE: Final = UUID("c0a1b2c3-d4e5-4f60-8a9b-0c1d2e3f4a5b")
ROOT_FROM: Final = T0 - timedelta(days=30)
END: Final = T0 + timedelta(days=365)

NOT_TRUSTED: Final = "PEER_E_INVITATION_NOT_TRUSTED"
FORMAT_ERRORS: Final[Mapping[str, str]] = {
    "invitations": NOT_TRUSTED,
    "identity-xml": "E_INVALIDARG",
    "identity-exports": "E_INVALIDARG",
    "group-configs": "E_INVALIDARG",
    "attributes": "PEER_E_INVALID_ATTRIBUTES",
    "searches": "PEER_E_INVALID_SEARCH",
}
"""What each format documents for a document that is not what it should be."""


# The peer every case runs against ------------------------------------------------------------

@dataclass(frozen=True)
class Keys:
    group: PrivateKey
    """The key of ``World.group``, another group: the one the built invitations invite to."""
    alice: PrivateKey
    """``World.group``'s creator, an administrator."""
    bob: PrivateKey
    stranger: PrivateKey
    """A key no certificate of the group was issued for."""


@dataclass(frozen=True)
class World:
    """One peer on an in-memory store at ``T0``, and the certificates of another group."""

    peer: Peer
    store: PeerStore
    me: str
    """The peer's identity: creator of ``handle``'s group, invitee of the built invitations."""
    me_key: PrivateKey
    handle: str
    """A ready group of ``me`` with one record (``create_invitation``, ``add_record``, ``search_records``)."""
    keys: Keys
    group: str
    root: bytes
    creator: bytes
    """Alice's GMC in ``group``: an administrator, valid from ``ROOT_FROM`` to ``END``."""
    payloads: dict[str, str] = field(default_factory=dict, compare=False)
    """Each case's text, made once: building some costs a key export."""

    def alice(self) -> str:
        return peer_name(self.keys.alice, "alice")

    def snapshot(self) -> tuple[object, ...]:
        """What a refused call must leave as it was: the store's head, the identities, their groups."""
        identities = self.peer.identities()
        return self.store.head(), identities, [self.peer.groups(pair.peer_name) for pair in identities]


def make_world() -> World:
    store = open_store(None)
    peer = Peer(store, clock=lambda: T0)
    me_key = crypto.generate_identity_key()
    me = peer.create_identity("corpus", "Corpus", key=me_key)
    handle = peer.create_group(me, "corpus", friendly_name="Corpus")
    peer.add_record(handle, RECORD_TYPE, T0 + timedelta(days=1), attributes=_ATTRIBUTES_CONTROL)
    keys = Keys(*(crypto.generate_identity_key() for _ in range(4)))
    group = peer_name(keys.group, "corpus")
    root = credentials.make_group_root(keys.group, group, ROOT_FROM)
    creator = gmc(keys.group, root, group, keys.alice, "alice", [ROLE_ADMIN])
    return World(peer, store, me, me_key, handle, keys, group, root, creator)


def peer_name(key: PrivateKey, classifier: str) -> str:
    return f"{authority_of(crypto.public_key_der(key))}.{classifier}"


def gmc(
    issuer_key: PrivateKey, issuer_der: bytes, group: str, subject_key: PrivateKey | bytes, subject: str,
    roles: list[UUID], *, not_before: datetime = ROOT_FROM, not_after: datetime = END,
) -> bytes:
    """A GMC for ``subject`` (a classifier under the key's authority, or a whole peer name)."""
    public = subject_key if isinstance(subject_key, bytes) else crypto.public_key_der(subject_key)
    name = subject if "." in subject else f"{authority_of(public)}.{subject}"
    return credentials.issue_membership(
        issuer_key, issuer_der, group_peer_name=group, subject=name, subject_friendly_name=subject,
        subject_public_key=public, roles=roles, not_before=not_before, not_after=not_after,
    )


# Entry points --------------------------------------------------------------------------------

Entry = Callable[[World, str, "Case"], object]

ENTRY_POINTS: Final[Mapping[str, Mapping[str, Entry]]] = {
    "invitations": {
        "read_invitation": lambda w, text, case: invitations.read_invitation(text),
        "Peer.parse_invitation": lambda w, text, case: w.peer.parse_invitation(text),
        "Peer.join": lambda w, text, case: w.peer.join(w.me, text),
        "Peer.password_join": lambda w, text, case: w.peer.password_join(w.me, text, case.password),
    },
    "identity-xml": {
        "identity_card": lambda w, text, case: cards.identity_card(text, "pwzIdentityInfo"),
        "Peer.create_invitation": lambda w, text, case: w.peer.create_invitation(w.handle, text),
    },
    "identity-exports": {
        "Peer.import_identity": lambda w, text, case: w.peer.import_identity(text, case.password),
    },
    "group-configs": {
        "read_group_config": lambda w, text, case: configs.read_group_config(text, case.password),
        "Peer.import_config": lambda w, text, case: w.peer.import_config(text, case.password, True),
    },
    "attributes": {
        "read_attributes": lambda w, text, case: record_attributes.read_attributes(text),
        "Peer.add_record": lambda w, text, case: w.peer.add_record(
            w.handle, RECORD_TYPE, T0 + timedelta(days=1), attributes=text,
        ),
    },
    "searches": {
        "read_search": lambda w, text, case: record_search.read_search(text),
        "Peer.search_records": lambda w, text, case: w.peer.search_records(w.handle, text),
    },
}


# Cases ---------------------------------------------------------------------------------------

PAYLOAD_SUFFIXES: Final = (".xml", ".bin")


@dataclass(frozen=True)
class Case:
    """One attack: ``tests/corpus/<format>/<name>.json`` and its payload."""

    format: str
    name: str
    sidecar: Mapping[str, Any]

    @property
    def id(self) -> str:
        return f"{self.format}/{self.name}"

    @property
    def path(self) -> Path:
        return CORPUS / self.format / f"{self.name}.json"

    @property
    def password(self) -> str:
        return cast(str, self.sidecar.get("password", PASSWORD))

    @property
    def fork(self) -> bool:
        return bool(self.sidecar.get("fork", False))

    def expected(self) -> dict[str, str]:
        """Entry point -> HRESULT name, for the entry points this case runs through."""
        expect = self.sidecar["expect"]
        entries = ENTRY_POINTS[self.format]
        if isinstance(expect, str):
            return {entry: expect for entry in entries}
        default = expect.get("*")
        return {
            entry: expect.get(entry, default) for entry in entries if expect.get(entry, default) is not None
        }

    def payload_files(self) -> list[Path]:
        return [path for suffix in PAYLOAD_SUFFIXES if (path := self.path.with_suffix(suffix)).exists()]

    def payload(self, world: World) -> str:
        """The text the entry points get: a file's, generated, or built (once per world)."""
        if "generate" in self.sidecar:
            return "".join(text * count for text, count in self.sidecar["generate"])
        if "build" in self.sidecar:
            if self.id not in world.payloads:
                world.payloads[self.id] = BUILDERS[self.format][self.sidecar["build"]](world)
            return world.payloads[self.id]
        (path,) = self.payload_files()
        if path.suffix == ".xml":
            return path.read_bytes().decode("utf-8")  # strictly; a BOM stays, as U+FEFF
        decode = self.sidecar["decode"]
        return path.read_bytes().decode(decode["encoding"], decode.get("errors", "strict"))


def load_cases() -> list[Case]:
    return [
        Case(directory, path.stem, json.loads(path.read_text(encoding="utf-8")))
        for directory in ENTRY_POINTS
        for path in sorted((CORPUS / directory).glob("*.json"))
    ]


def control(format_name: str, name: str = "_valid.xml") -> str:
    return (CORPUS / format_name / name).read_text(encoding="utf-8")


# Built cases: certificates, signatures and key derivation parameters ------------------------

def _credential_invitation(world: World, chain: tuple[bytes, ...], signer: PrivateKey) -> str:
    return invitations.credential_invitation_xml("Global_", "Corpus", chain, signer)


def _invite_me(world: World, not_before: datetime, not_after: datetime) -> str:
    """An invitation of ``me`` by alice, the administrator: sound, for that validity."""
    mine = gmc(
        world.keys.alice, world.creator, world.group, world.me_key, world.me, [ROLE_MEMBER],
        not_before=not_before, not_after=not_after,
    )
    return _credential_invitation(world, (world.root, world.creator, mine), world.keys.alice)


def _for_another_key(world: World) -> str:
    """The GMC names ``me`` but carries the stranger's key: whoever holds that key is invited."""
    theirs = gmc(
        world.keys.alice, world.creator, world.group, crypto.public_key_der(world.keys.stranger), world.me,
        [ROLE_MEMBER],
    )
    return _credential_invitation(world, (world.root, world.creator, theirs), world.keys.alice)


def _gmc_signed_by_wrong_key(world: World) -> str:
    """``me``'s GMC names alice's GMC as its issuer but the stranger signed it."""
    forged = gmc(world.keys.stranger, world.creator, world.group, world.me_key, world.me, [ROLE_MEMBER])
    return _credential_invitation(world, (world.root, world.creator, forged), world.keys.alice)


def _statement_signed_by_wrong_key(world: World) -> str:
    mine = gmc(world.keys.alice, world.creator, world.group, world.me_key, world.me, [ROLE_MEMBER])
    return _credential_invitation(world, (world.root, world.creator, mine), world.keys.stranger)


def _chain_cycle(world: World) -> str:
    """alice (creator) -> bob (administrator) -> alice again: every link is valid on its own."""
    bob = gmc(world.keys.alice, world.creator, world.group, world.keys.bob, "bob", [ROLE_ADMIN])
    alice_again = gmc(world.keys.bob, bob, world.group, world.keys.alice, world.alice(), [ROLE_ADMIN])
    mine = gmc(world.keys.alice, alice_again, world.group, world.me_key, world.me, [ROLE_MEMBER])
    return _credential_invitation(world, (world.root, world.creator, bob, alice_again, mine), world.keys.alice)


def _chain_through(world: World, role: UUID, granted: UUID) -> str:
    bob = gmc(world.keys.alice, world.creator, world.group, world.keys.bob, "bob", [role])
    mine = gmc(world.keys.bob, bob, world.group, world.me_key, world.me, [granted])
    return _credential_invitation(world, (world.root, world.creator, bob, mine), world.keys.bob)


def _chain_too_long(world: World) -> str:
    """root -> alice -> 23 administrators (bob's and alice's keys in turn) -> me: 25 GMCs."""
    chain = [world.root, world.creator]
    issuer_key = world.keys.alice
    for index in range(23):
        key = (world.keys.bob, world.keys.alice)[index % 2]
        chain.append(gmc(issuer_key, chain[-1], world.group, key, f"link{index}", [ROLE_ADMIN]))
        issuer_key = key
    chain.append(gmc(issuer_key, chain[-1], world.group, world.me_key, world.me, [ROLE_MEMBER]))
    return _credential_invitation(world, tuple(chain), issuer_key)


def _link_of_another_group(world: World) -> str:
    other = peer_name(world.keys.stranger, "other")
    mine = gmc(world.keys.alice, world.creator, other, world.me_key, world.me, [ROLE_MEMBER])
    return _credential_invitation(world, (world.root, world.creator, mine), world.keys.alice)


def _root_not_the_groups_key(world: World) -> str:
    """A whole chain of the stranger's making, under a root that names the group."""
    root = credentials.make_group_root(world.keys.stranger, world.group, ROOT_FROM)
    creator = gmc(world.keys.stranger, root, world.group, world.keys.alice, "alice", [ROLE_ADMIN])
    mine = gmc(world.keys.alice, creator, world.group, world.me_key, world.me, [ROLE_MEMBER])
    return _credential_invitation(world, (root, creator, mine), world.keys.alice)


def _password_invitation(world: World, **kdf: Any) -> str:
    """A password invitation that alice signs, with the key derivation parameters ``kdf``: any
    administrator of any group can write one, and the joiner derives with them."""
    offer = invitations.PasswordInvitation(
        "Global_", world.group, "Corpus", world.alice(), "Alice", ROLE_MEMBER,
        b"corpus salt 16 b", 2, 1, 19 * 1024, ROOT_FROM, END,
    )
    return invitations.password_invitation_xml(attrs.evolve(offer, **kdf), (world.root, world.creator), world.keys.alice)


def _resigned(der: bytes, key: PrivateKey) -> bytes:
    """The certificate ``der`` with every field as it was, signed by ``key``."""
    certificate = x509.load_der_x509_certificate(der)
    builder = (
        x509.CertificateBuilder()
        .subject_name(certificate.subject).issuer_name(certificate.issuer)
        .public_key(certificate.public_key())
        .serial_number(certificate.serial_number)
        .not_valid_before(certificate.not_valid_before_utc).not_valid_after(certificate.not_valid_after_utc)
    )
    for extension in certificate.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _idc(key: PrivateKey, name: str) -> bytes:
    return crypto.make_identity_certificate(key, name, "Alice", T0)


def _identity_xml(*certificates: bytes) -> str:
    return formats.identity_info_xml(crypto.certificates_to_pkcs7(list(certificates)))


# PKCS#12: the MacData iteration count, read and written with a few lines of DER -------------

def _element(tag: int, content: bytes) -> bytes:
    size = len(content)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | (size.bit_length() + 7) // 8]) + size.to_bytes(
        (size.bit_length() + 7) // 8, "big"
    )
    return bytes([tag]) + length + content


def with_mac_iterations(pfx: bytes, iterations: int) -> bytes:
    """The PFX (RFC 7292: SEQUENCE {version, authSafe, macData}) with another MacData
    iteration count. The MAC no longer verifies, but a reader only learns that after
    running the key derivation that many times."""
    version, auth_safe, mac_data = crypto.der_elements(crypto.der_content(pfx))
    digest, salt, _ = crypto.der_elements(crypto.der_content(mac_data))
    count = _element(0x02, iterations.to_bytes(iterations.bit_length() // 8 + 1, "big"))
    return _element(0x30, version + auth_safe + _element(0x30, digest + salt + count))


MAC_ITERATIONS: Final = 2**31 - 1
"""The largest count a reader with a 32-bit int takes: about two minutes of PKCS#12 key
derivation here (ten million take half a second)."""


def _export_with_mac_iterations(world: World) -> str:
    name, pfx = formats.read_identity_export_xml(control("identity-exports"))
    return formats.identity_export_xml(name, with_mac_iterations(pfx, MAC_ITERATIONS))


def _config_with_mac_iterations(world: World) -> str:
    identity, group, cloud, scope, flags, gmc_pkcs7, data = formats.read_group_config_xml(control("group-configs"))
    return formats.group_config_xml(
        identity, group, cloud, scope, flags, gmc_pkcs7, with_mac_iterations(data, MAC_ITERATIONS),
    )


def _export_of_idc_signed_by_another_key(world: World) -> str:
    """An export that opens with its password, of a key and an IDC for it that another key signed."""
    name = peer_name(world.keys.alice, "forged")
    idc = _resigned(_idc(world.keys.alice, name), world.keys.stranger)
    return formats.identity_export_xml(name, crypto.export_pkcs12(world.keys.alice, idc, "Alice", PASSWORD))


def _export_for_another_peer_name(world: World) -> str:
    _, pfx = formats.read_identity_export_xml(control("identity-exports"))
    return formats.identity_export_xml(peer_name(world.keys.stranger, "corpus"), pfx)


def _config_through_member(world: World) -> str:
    """``me``'s configuration, opening with its password, whose chain runs through bob, a member."""
    bob = gmc(world.keys.alice, world.creator, world.group, world.keys.bob, "bob", [ROLE_MEMBER])
    mine = gmc(world.keys.bob, bob, world.group, world.me_key, world.me, [ROLE_MEMBER])
    config = configs.GroupConfig(world.me, world.group, "Global_", (world.root, world.creator, bob, mine), None)
    return configs.group_config_xml(config, PASSWORD)


BUILDERS: Final[Mapping[str, Mapping[str, Callable[[World], str]]]] = {
    "invitations": {
        "expired": lambda w: _invite_me(w, T0 - timedelta(days=10), T0 - timedelta(days=1)),
        "not-yet-valid": lambda w: _invite_me(w, T0 + timedelta(days=1), T0 + timedelta(days=30)),
        "for-another-key": _for_another_key,
        "gmc-signed-by-wrong-key": _gmc_signed_by_wrong_key,
        "statement-signed-by-wrong-key": _statement_signed_by_wrong_key,
        "chain-cycle": _chain_cycle,
        "chain-through-member": lambda w: _chain_through(w, ROLE_MEMBER, ROLE_MEMBER),
        "chain-through-inviting-member-granting-admin": lambda w: _chain_through(w, ROLE_INVITING_MEMBER, ROLE_ADMIN),
        "chain-too-long": _chain_too_long,
        "link-of-another-group": _link_of_another_group,
        "root-not-the-groups-key": _root_not_the_groups_key,
        "password-kdf-unbounded-time": lambda w: _password_invitation(w, iterations=2**32 - 1),
        "password-kdf-unbounded-memory": lambda w: _password_invitation(w, memory_cost=4 * 2**20),
        "password-kdf-out-of-range": lambda w: _password_invitation(w, lanes=0),
    },
    "identity-xml": {
        "idc-signed-by-another-key": lambda w: _identity_xml(
            _resigned(_idc(w.keys.alice, w.alice()), w.keys.stranger)
        ),
        "idc-named-for-another-key": lambda w: _identity_xml(_idc(w.keys.stranger, w.alice())),
        "two-idcs": lambda w: _identity_xml(_idc(w.keys.alice, w.alice()), _idc(w.keys.bob, peer_name(w.keys.bob, "bob"))),
        "gmc-instead-of-idc": lambda w: _identity_xml(w.creator),
    },
    "identity-exports": {
        "pkcs12-mac-iterations": _export_with_mac_iterations,
        "idc-signed-by-another-key": _export_of_idc_signed_by_another_key,
        "for-another-peer-name": _export_for_another_peer_name,
    },
    "group-configs": {
        "pkcs12-mac-iterations": _config_with_mac_iterations,
        "chain-through-member": _config_through_member,
    },
}


# Static attack files, derived from each format's control -----------------------------------

_ATTRIBUTES_CONTROL: Final = (
    '<attributes><attribute name="title" type="string">Corpus</attribute>'
    '<attribute name="size" type="int">42</attribute>'
    '<attribute name="when" type="date">2026-01-01T00:00:00Z</attribute></attributes>'
)
_SEARCH_CONTROL: Final = (
    '<peersearch><and><clause attrib="title" type="string" compare="equal">Cor*</clause>'
    '<clause attrib="size" type="int" compare="greater">1</clause></and></peersearch>'
)


@dataclass(frozen=True)
class Anatomy:
    """Where a format's control is attacked: ``element`` holds the text that entities and bad
    characters go into, ``base64`` the Base64 that is cut, ``unknown`` an element the format
    does not know, put where ``element`` is."""

    control: str
    root: str
    element: str
    base64: str | None
    unknown: str


ANATOMIES: Final[Mapping[str, Anatomy]] = {
    "invitations": Anatomy("_valid-credential.xml", "PEERINVITATION", "CLOUDNAME", "GMC", "<UNKNOWN>x</UNKNOWN>"),
    "identity-xml": Anatomy("_valid.xml", "PEERIDENTITYINFO", "IDC", "IDC", "<UNKNOWN>x</UNKNOWN>"),
    "identity-exports": Anatomy("_valid.xml", "PEERIDENTITYEXPORT", "PEERNAME", "DATA", "<UNKNOWN>x</UNKNOWN>"),
    "group-configs": Anatomy("_valid.xml", "PEERGROUPCONFIG", "CLOUDNAME", "GMC", "<UNKNOWN>x</UNKNOWN>"),
    "attributes": Anatomy("_valid.xml", "attributes", "attribute", None, '<unknown name="a" type="string">x</unknown>'),
    "searches": Anatomy("_valid.xml", "peersearch", "clause", None, '<not><clause attrib="a" type="int">1</clause></not>'),
}

_LAUGHS: Final = "".join(
    f'<!ENTITY lol{level} "{("&lol" + str(level - 1) + ";") * 10 if level else "lol"}">' for level in range(10)
)
_A: Final = "a" * 30_000


def _element_span(text: str, tag: str) -> tuple[int, int, int, int]:
    """Start of the first ``<tag>``, end of its start tag, start and end of its ``</tag>``."""
    found = re.search(rf"<{tag}[ >]", text)
    assert found is not None, tag
    start = found.start()
    open_end = text.index(">", start) + 1
    close = text.index(f"</{tag}>", open_end)
    return start, open_end, close, close + len(f"</{tag}>")


def _with_content(text: str, tag: str, make: Callable[[str], str]) -> str:
    _, open_end, close, _ = _element_span(text, tag)
    return text[:open_end] + make(text[open_end:close]) + text[close:]


def _with_doctype(text: str, root: str, subset: str, content: str, tag: str) -> str:
    return f"<!DOCTYPE {root} [{subset}]>" + _with_content(text, tag, lambda _: content)


def _first_attribute(text: str) -> re.Match[str]:
    match = re.search(r'<(\w+) (\w+)="([^"]*)"', text)
    assert match is not None
    return match


def _recipes(format_name: str, anatomy: Anatomy) -> dict[str, Callable[[str], str | bytes]]:
    """Attack name -> the payload made from the control (``bytes`` for a ``.bin`` file)."""
    root, tag = anatomy.root, anatomy.element
    control_text = control(format_name, anatomy.control)

    def inserted(raw: bytes) -> bytes:
        text = control_text.encode()
        _, open_end, _, _ = _element_span(control_text, tag)
        at = len(control_text[:open_end].encode())
        return text[:at] + raw + text[at:]

    def dtd_default(text: str) -> str:
        match = _first_attribute(text)
        without = text[: match.start(2) - 1] + text[match.end(3) + 1 :]
        return f'<!DOCTYPE {root} [<!ATTLIST {match.group(1)} {match.group(2)} CDATA "{match.group(3)}">]>' + without

    def duplicate_attribute(text: str) -> str:
        match = _first_attribute(text)
        return text[: match.end(3) + 1] + f' {match.group(2)}="{match.group(3)}"' + text[match.end(3) + 1 :]

    def unknown_element(text: str) -> str:
        if root == "peersearch":  # in place of <and>: <peersearch> holds exactly one element
            start, _, _, end = _element_span(text, "and")
            return text[:start] + anatomy.unknown + text[end:]
        start = _element_span(text, tag)[0]
        return text[:start] + anatomy.unknown + text[start:]

    recipes: dict[str, Callable[[str], str | bytes]] = {
        "billion-laughs": lambda t: _with_doctype(t, root, _LAUGHS, "&lol9;", tag),
        "quadratic-blowup": lambda t: _with_doctype(t, root, f'<!ENTITY a "{_A}">', "&a;" * 1000, tag),
        "external-entity-file": lambda t: _with_doctype(t, root, '<!ENTITY xxe SYSTEM "file:///etc/passwd">', "&xxe;", tag),
        "external-entity-http": lambda t: _with_doctype(
            t, root, '<!ENTITY xxe SYSTEM "http://127.0.0.1:9/xxe">', "&xxe;", tag
        ),
        "external-parameter-entity": lambda t: f'<!DOCTYPE {root} [<!ENTITY % dtd SYSTEM "http://127.0.0.1:9/evil.dtd"> %dtd;]>' + t,
        "external-dtd": lambda t: f'<!DOCTYPE {root} SYSTEM "http://127.0.0.1:9/evil.dtd">' + t,
        "dtd-default-attribute": dtd_default,
        "nul-character": lambda t: _with_content(t, tag, lambda c: "\x00" + c),
        "character-reference-nul": lambda t: _with_content(t, tag, lambda c: "&#0;" + c),
        "character-reference-surrogate": lambda t: _with_content(t, tag, lambda c: "&#xD800;" + c),
        "invalid-utf8-surrogateescape": lambda t: inserted(b"\xff"),
        "invalid-utf8-overlong-nul": lambda t: inserted(b"\xc0\x80"),
        "invalid-utf8-encoded-surrogate": lambda t: inserted(b"\xed\xa0\x80"),
        "bom": lambda t: "\ufeff" + t,
        "utf-16": lambda t: t.encode("utf-16"),
        "utf-16-as-latin-1": lambda t: t.encode("utf-16"),
        "utf-16-declaration": lambda t: '<?xml version="1.0" encoding="UTF-16"?>' + t,
        "xml-version-1.1": lambda t: '<?xml version="1.1"?>' + t,
        "duplicate-element": lambda t: duplicate_element_of(t, "and" if root == "peersearch" else tag),
        "duplicate-xml-attribute": duplicate_attribute,
        "unknown-element": unknown_element,
        "unknown-xml-attribute": lambda t: t.replace(f"<{root}", f'<{root} UNKNOWN="1"', 1),
        "truncated-document": lambda t: t[: len(t) // 2],
    }
    if root.isupper():
        recipes["wrong-version"] = lambda t: re.sub(r'VERSION="[^"]*"', 'VERSION="2.0"', t, count=1)
        recipes["missing-version"] = lambda t: re.sub(r' VERSION="[^"]*"', "", t, count=1)
    if anatomy.base64 is not None:
        b64 = anatomy.base64
        recipes["truncated-base64"] = lambda t: _with_content(t, b64, lambda c: c[:-1])
        recipes["truncated-base64-whole-quanta"] = lambda t: _with_content(t, b64, lambda c: c[:-4])
        recipes["base64-line-breaks"] = lambda t: _with_content(
            t, b64, lambda c: "\n".join(c[i : i + 76] for i in range(0, len(c), 76))
        )
        recipes["base64-in-cdata"] = lambda t: _with_content(t, b64, lambda c: f"<![CDATA[{c}]]>")
    if root == "PEERINVITATION":
        recipes["version-of-the-other-kind"] = lambda t: t.replace('VERSION="1.0"', 'VERSION="1.1"', 1)
        recipes["duplicate-signature"] = lambda t: duplicate_element_of(t, "PEERSTATESIGNED")
        recipes["foreign-datatypes-namespace"] = lambda t: t.replace(
            'xmlns:dt="urn:schemas-microsoft-com:datatypes"', 'xmlns:dt="urn:example:not-datatypes"', 1
        )
        recipes["namespaced-root"] = lambda t: t.replace(
            f"<{root} ", f'<p:{root} xmlns:p="urn:example:p" ', 1
        ).replace(f"</{root}>", f"</p:{root}>")
    return recipes


def duplicate_element_of(text: str, tag: str) -> str:
    start, _, _, end = _element_span(text, tag)
    return text[:end] + text[start:end] + text[end:]


def derived_payloads() -> dict[Path, bytes]:
    """Every static payload file, as its recipe makes it from the control."""
    files: dict[Path, bytes] = {}
    for format_name, anatomy in ANATOMIES.items():
        text = control(format_name, anatomy.control)
        for name, recipe in _recipes(format_name, anatomy).items():
            made = recipe(text)
            suffix, data = (".bin", made) if isinstance(made, bytes) else (".xml", made.encode("utf-8"))
            files[CORPUS / format_name / f"{name}{suffix}"] = data
    return files


def _write_controls() -> None:
    """Each format's control, with keys of its own; written once, then kept."""
    wanted: dict[Path, Callable[[], str]] = {
        CORPUS / "attributes" / "_valid.xml": lambda: _ATTRIBUTES_CONTROL,
        CORPUS / "searches" / "_valid.xml": lambda: _SEARCH_CONTROL,
    }
    if not all((CORPUS / name).exists() for name in (
        "invitations/_valid-credential.xml", "invitations/_valid-password.xml", "identity-xml/_valid.xml",
        "identity-exports/_valid.xml", "group-configs/_valid.xml",
    )):
        world = make_world()
        bob = gmc(world.keys.alice, world.creator, world.group, world.keys.bob, "bob", [ROLE_MEMBER])
        wanted.update({
            CORPUS / "invitations" / "_valid-credential.xml": lambda: _credential_invitation(
                world, (world.root, world.creator, bob), world.keys.alice
            ),
            CORPUS / "invitations" / "_valid-password.xml": lambda: _password_invitation(world),
            CORPUS / "identity-xml" / "_valid.xml": lambda: world.peer.identity_xml(world.me),
            CORPUS / "identity-exports" / "_valid.xml": lambda: world.peer.export_identity(world.me, PASSWORD),
            CORPUS / "group-configs" / "_valid.xml": lambda: world.peer.export_config(world.handle, PASSWORD),
        })
    for path, make in wanted.items():
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(make(), encoding="utf-8")


def main() -> None:
    _write_controls()
    for path, data in derived_payloads().items():
        path.write_bytes(data)
    print(f"wrote {len(derived_payloads())} payload files under {CORPUS}", file=sys.stderr)


if __name__ == "__main__":
    main()
