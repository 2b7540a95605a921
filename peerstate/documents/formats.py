"""The XML documents of the Identity Manager API: pure encode and decode.

Every document peerstate reads comes from outside (a file, a mail, another peer), so every
parse goes through defusedxml with DTDs, entities and external references forbidden, after
a size cap, and accepts exactly one shape: the root, its attributes and its children as
written below, nothing more. Documents are written from fixed templates, so the same content
always gives the same bytes, which is what makes the byte-exact import check possible.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import attrs
import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from peerstate.bounds import MAX_DOCUMENT_CHARS

DATATYPES_NS: Final = "urn:schemas-microsoft-com:datatypes"
_BASE64_ATTRIBUTES: Final = {f"{{{DATATYPES_NS}}}dt": "bin.base64"}
_BASE64_DECLARATION: Final = f'xmlns:dt="{DATATYPES_NS}" dt:dt="bin.base64"'


_DECLARATION: Final = re.compile(
    r"<\?xml\s+version\s*=\s*([\"'])1\.0\1(?:\s+encoding\s*=\s*([\"'])(?i:utf-8)\2)?"
    r"(?:\s+standalone\s*=\s*([\"'])(?:yes|no)\3)?\s*\?>"
)


class MalformedDocument(ValueError):
    """The text is not the document it should be; the message says where it differs."""


class UnsupportedVersion(MalformedDocument):
    """A well-formed document of a version peerstate does not read."""


def safe_parse(text: str) -> Element:
    """The root element of ``text``, parsed the only way peerstate parses untrusted XML: after
    the size cap, with defusedxml and DTDs, entities and external references forbidden.

    Kept apart from the version check so that documents without a ``VERSION`` (record
    attributes, search queries) get the same defences; ``MalformedDocument`` says what failed.
    """
    if not isinstance(text, str):
        raise MalformedDocument("the document must be text")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise MalformedDocument(f"the document has {len(text)} characters; at most {MAX_DOCUMENT_CHARS} are read")
    if text.startswith("\ufeff"):
        raise MalformedDocument("the document starts with U+FEFF: a text has no byte order mark")
    if re.match(r"<\?xml\s", text) and not _DECLARATION.match(text):
        raise MalformedDocument("an XML declaration must say version 1.0 and, if it names an encoding, UTF-8")
    try:
        element = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except UnicodeEncodeError:
        raise MalformedDocument("the document holds a lone surrogate, which is not a character") from None
    except DefusedXmlException as error:
        raise MalformedDocument(f"the document uses a forbidden XML feature: {type(error).__name__}") from None
    except SafeET.ParseError as error:
        raise MalformedDocument(f"the document is not well-formed XML: {error}") from None
    if not isinstance(element, Element):
        raise MalformedDocument("the document has no root element")
    return element


def parse_untrusted_xml(text: str, root: str, *versions: str) -> Element:
    """Parse ``text`` as a ``<root VERSION=...>`` document, of one of ``versions``, with defusedxml.

    Raises ``UnsupportedVersion`` for a well-formed document of another version, so callers
    that distinguish the two (invitations) can, and ``MalformedDocument`` for anything else.
    """
    element = safe_parse(text)
    if element.tag != root:
        raise MalformedDocument(f"the root element is <{element.tag}>, not <{root}>")
    if set(element.attrib) != {"VERSION"}:
        raise MalformedDocument(f"<{root}> must have exactly the attribute VERSION")
    if element.attrib["VERSION"] not in versions:
        raise UnsupportedVersion(
            f"<{root}> has VERSION {element.attrib['VERSION']!r}; {' or '.join(map(repr, versions))} is supported"
        )
    return element


def children(element: Element, names: tuple[str, ...]) -> dict[str, Element]:
    """The children of ``element``, which must be exactly ``names`` in that order, with no text between."""
    found = list(element)
    if [child.tag for child in found] != list(names):
        raise MalformedDocument(
            f"<{element.tag}> must contain exactly {', '.join(f'<{n}>' for n in names)} in that order"
        )
    if (element.text or "").strip() or any((child.tail or "").strip() for child in found):
        raise MalformedDocument(f"<{element.tag}> has text outside its elements")
    for child in found:
        if len(child):
            raise MalformedDocument(f"<{child.tag}> must not contain elements")
    return {child.tag: child for child in found}


def text_of(element: Element) -> str:
    if element.attrib:
        raise MalformedDocument(f"<{element.tag}> must not have attributes")
    return element.text or ""


def base64_of(element: Element) -> bytes:
    """The bytes of a ``dt:dt="bin.base64"`` element; non-canonical Base64 is refused."""
    if element.attrib != _BASE64_ATTRIBUTES:
        raise MalformedDocument(f'<{element.tag}> must have exactly dt:dt="bin.base64"')
    text = element.text or ""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedDocument(f"<{element.tag}> is not valid Base64") from None
    if base64.b64encode(data).decode() != text or not data:
        raise MalformedDocument(f"<{element.tag}> is not canonical Base64")
    return data


def _cloud_of(parts: dict[str, Element]) -> tuple[str, str, int]:
    """The ``CLOUDNAME``, ``SCOPE`` and ``CLOUDFLAGS`` of a document that names a PNRP cloud."""
    flags = text_of(parts["CLOUDFLAGS"])
    if flags not in ("0", "1"):
        raise MalformedDocument("<CLOUDFLAGS> must be 0 or 1")
    return text_of(parts["CLOUDNAME"]), text_of(parts["SCOPE"]), int(flags)


def _require_written(text: str, written: str, what: str, writer: str) -> None:
    """Writing back what was read and comparing is what catches an altered byte that a lenient
    parse would let through (added white space, another quote style, a re-wrapped Base64)."""
    if written != text:
        raise MalformedDocument(f"the {what} is not byte for byte the text that {writer} wrote")


def _text_element(tag: str, text: str) -> str:
    return f"<{tag}>{escape(text)}</{tag}>"


def _base64_element(tag: str, data: bytes) -> str:
    return f"<{tag} {_BASE64_DECLARATION}>{base64.b64encode(data).decode()}</{tag}>"


def _cloud_elements(cloud: str, scope: str, cloud_flags: int) -> str:
    return f"{_text_element('CLOUDNAME', cloud)}{_text_element('SCOPE', scope)}<CLOUDFLAGS>{cloud_flags}</CLOUDFLAGS>"


# PEERIDENTITYINFO (reference section 6.1) ---------------------------------------------------

def identity_info_xml(idc_pkcs7: bytes) -> str:
    """The public identity document of ``PeerIdentityGetXML``: the IDC as PKCS#7 in Base64."""
    return f'<PEERIDENTITYINFO VERSION="1.0">{_base64_element("IDC", idc_pkcs7)}</PEERIDENTITYINFO>'


def read_identity_info_xml(text: str) -> bytes:
    """The PKCS#7 IDC bundle of an identity document."""
    element = parse_untrusted_xml(text, "PEERIDENTITYINFO", "1.0")
    idc = base64_of(children(element, ("IDC",))["IDC"])
    _require_written(text, identity_info_xml(idc), "identity information", "PeerIdentityGetXML")
    return idc


# PEERIDENTITYEXPORT (reference section 6.3) -------------------------------------------------

def identity_export_xml(peer_name: str, pfx: bytes) -> str:
    return (
        f'<PEERIDENTITYEXPORT VERSION="1.0">{_text_element("PEERNAME", peer_name)}'
        f"{_base64_element('DATA', pfx)}</PEERIDENTITYEXPORT>"
    )


def read_identity_export_xml(text: str) -> tuple[str, bytes]:
    """The peer name and PFX of an export, which must be byte for byte what export wrote."""
    element = parse_untrusted_xml(text, "PEERIDENTITYEXPORT", "1.0")
    parts = children(element, ("PEERNAME", "DATA"))
    peer_name = text_of(parts["PEERNAME"])
    pfx = base64_of(parts["DATA"])
    _require_written(text, identity_export_xml(peer_name, pfx), "export", "PeerIdentityExport")
    return peer_name, pfx


# PEERINVITATION (reference section 6.2) -----------------------------------------------------
#
# Both forms are the Windows elements, then ``PEERSTATESIGNED``: the statement their issuer
# signed (``invitations``), which the readable elements must match. VERSION tells them apart.

_CLOUD_PARTS: Final = ("CLOUDNAME", "SCOPE", "CLOUDFLAGS")
_PASSWORD_VERSION: Final = "1.1"
_CREDENTIAL_VERSION: Final = "1.0"
INVITATION_VERSIONS: Final = (_PASSWORD_VERSION, _CREDENTIAL_VERSION)


@attrs.frozen
class PasswordInvitationParts:
    """The elements of a password invitation (VERSION 1.1)."""

    cloud: str
    scope: str
    cloud_flags: int
    group_peer_name: str
    group_friendly_name: str
    signed: bytes


@attrs.frozen
class CredentialInvitationParts:
    """The elements of a GMC invitation (VERSION 1.0); ``gmc_pkcs7`` is the invitee's chain."""

    cloud: str
    scope: str
    cloud_flags: int
    gmc_pkcs7: bytes
    signed: bytes


def password_invitation_xml(
    cloud: str, scope: str, cloud_flags: int, group_peer_name: str, group_friendly_name: str,
    signed: bytes,
) -> str:
    """The Windows password invitation's five elements, then ``PEERSTATESIGNED``."""
    named = _text_element("GROUPPEERNAME", group_peer_name) + _text_element("GROUPFRIENDLYNAME", group_friendly_name)
    return _invitation_xml(_PASSWORD_VERSION, _cloud_elements(cloud, scope, cloud_flags) + named, signed)


def credential_invitation_xml(cloud: str, scope: str, cloud_flags: int, gmc_pkcs7: bytes, signed: bytes) -> str:
    """The Windows GMC invitation's four elements, then ``PEERSTATESIGNED``."""
    elements = _cloud_elements(cloud, scope, cloud_flags) + _base64_element("GMC", gmc_pkcs7)
    return _invitation_xml(_CREDENTIAL_VERSION, elements, signed)


def _invitation_xml(version: str, elements: str, signed: bytes) -> str:
    return (
        f'<PEERINVITATION VERSION="{version}">{elements}'
        f"{_base64_element('PEERSTATESIGNED', signed)}</PEERINVITATION>"
    )


def read_invitation_xml(text: str) -> PasswordInvitationParts | CredentialInvitationParts:
    """The parts of either form, which must be byte for byte what was written."""
    element = parse_untrusted_xml(text, "PEERINVITATION", *INVITATION_VERSIONS)
    read: PasswordInvitationParts | CredentialInvitationParts
    if element.attrib["VERSION"] == _PASSWORD_VERSION:
        parts = children(element, (*_CLOUD_PARTS, "GROUPPEERNAME", "GROUPFRIENDLYNAME", "PEERSTATESIGNED"))
        read = PasswordInvitationParts(
            *_cloud_of(parts), text_of(parts["GROUPPEERNAME"]), text_of(parts["GROUPFRIENDLYNAME"]),
            base64_of(parts["PEERSTATESIGNED"]),
        )
        written = password_invitation_xml(*attrs.astuple(read))
    else:
        parts = children(element, (*_CLOUD_PARTS, "GMC", "PEERSTATESIGNED"))
        read = CredentialInvitationParts(
            *_cloud_of(parts), base64_of(parts["GMC"]), base64_of(parts["PEERSTATESIGNED"]),
        )
        written = credential_invitation_xml(*attrs.astuple(read))
    _require_written(text, written, "invitation", "its issuer")
    return read


# PEERGROUPCONFIG (reference section 6.4) ----------------------------------------------------

_GROUP_CONFIG_PARTS: Final = ("IDENTITYPEERNAME", "GROUPPEERNAME", *_CLOUD_PARTS, "GMC", "PEERSTATEDATA")


def group_config_xml(
    identity: str, group: str, cloud: str, scope: str, cloud_flags: int, gmc_pkcs7: bytes, data: bytes,
) -> str:
    """The six Windows elements, then ``PEERSTATEDATA``: the password-encrypted PFX behind them."""
    return (
        f'<PEERGROUPCONFIG VERSION="1.0">{_text_element("IDENTITYPEERNAME", identity)}'
        f"{_text_element('GROUPPEERNAME', group)}{_cloud_elements(cloud, scope, cloud_flags)}"
        f"{_base64_element('GMC', gmc_pkcs7)}{_base64_element('PEERSTATEDATA', data)}</PEERGROUPCONFIG>"
    )


def read_group_config_xml(text: str) -> tuple[str, str, str, str, int, bytes, bytes]:
    """The parts of a group configuration, which must be byte for byte what export wrote."""
    parts = children(parse_untrusted_xml(text, "PEERGROUPCONFIG", "1.0"), _GROUP_CONFIG_PARTS)
    read = (
        text_of(parts["IDENTITYPEERNAME"]), text_of(parts["GROUPPEERNAME"]), *_cloud_of(parts),
        base64_of(parts["GMC"]), base64_of(parts["PEERSTATEDATA"]),
    )
    _require_written(text, group_config_xml(*read), "configuration", "PeerGroupExportConfig")
    return read
