"""The XML documents: exact shapes, hostile input refused before or during a defused parse."""

from __future__ import annotations

import attrs
import pytest

from peerstate.bounds import MAX_DOCUMENT_CHARS
from peerstate.documents import formats

INFO = formats.identity_info_xml(b"\x30\x03\x02\x01\x01")


def test_identity_info_round_trips() -> None:
    assert formats.read_identity_info_xml(INFO) == b"\x30\x03\x02\x01\x01"


def test_export_round_trips_and_escapes_the_name() -> None:
    document = formats.identity_export_xml("0.a<b&c", b"pfx")
    assert formats.read_identity_export_xml(document) == ("0.a<b&c", b"pfx")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ('<!DOCTYPE PEERIDENTITYINFO><PEERIDENTITYINFO VERSION="1.0"/>', "forbidden XML feature"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><PEERIDENTITYINFO VERSION="1.0">&a;</PEERIDENTITYINFO>', "forbidden"),
        ('<PEERIDENTITYINFO VERSION="1.0">', "not well-formed"),
        ('<OTHER VERSION="1.0"/>', "root element is <OTHER>"),
        ('<PEERIDENTITYINFO/>', "exactly the attribute VERSION"),
        ('<PEERIDENTITYINFO VERSION="1.0" X="1"/>', "exactly the attribute VERSION"),
        (INFO.replace("</PEERIDENTITYINFO>", "<IDC/></PEERIDENTITYINFO>"), "exactly <IDC>"),
        (INFO.replace('VERSION="1.0">', 'VERSION="1.0">text'), "text outside"),
        (INFO.replace("MAMCAQE=", "MAMCAQE"), "not valid Base64"),
        (INFO.replace("MAMCAQE=", "MAMCAQF="), "not canonical Base64"),
        (INFO.replace(' dt:dt="bin.base64"', ""), "dt:dt"),
        ("<a>" * 10 + "</a>" * 10, "root element"),
        ("x" * (MAX_DOCUMENT_CHARS + 1), "at most"),
    ],
)
def test_malformed_identity_info_is_refused(document: str, reason: str) -> None:
    with pytest.raises(formats.MalformedDocument, match=reason):
        formats.read_identity_info_xml(document)


def test_another_version_is_told_apart_from_a_malformed_document() -> None:
    with pytest.raises(formats.UnsupportedVersion):
        formats.read_identity_info_xml(INFO.replace('"1.0"', '"2.0"'))


def test_billion_laughs_is_refused_without_expansion() -> None:
    entities = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10 if i else "lol"}">' for i in range(10))
    bomb = f'<!DOCTYPE PEERIDENTITYINFO [{entities}]><PEERIDENTITYINFO VERSION="1.0">&l9;</PEERIDENTITYINFO>'
    with pytest.raises(formats.MalformedDocument, match="forbidden"):
        formats.read_identity_info_xml(bomb)


def test_export_must_be_byte_exact() -> None:
    document = formats.identity_export_xml("0.x", b"pfx")
    for altered in (
        document.replace("><", ">\n<", 1),
        document.replace('VERSION="1.0"', "VERSION='1.0'"),
        '<?xml version="1.0"?>' + document,
    ):
        with pytest.raises(formats.MalformedDocument, match="byte for byte"):
            formats.read_identity_export_xml(altered)


# PEERINVITATION -------------------------------------------------------------------------------

PASSWORD_PARTS = formats.PasswordInvitationParts("Global_", "GLOBAL", 0, "0.g<&", "Chess & co", b"signed")
CREDENTIAL_PARTS = formats.CredentialInvitationParts("LinkLocal_{1}", "LINKLOCAL", 1, b"pkcs7", b"signed")
PASSWORD_INVITATION = formats.password_invitation_xml(*attrs.astuple(PASSWORD_PARTS))
CREDENTIAL_INVITATION = formats.credential_invitation_xml(*attrs.astuple(CREDENTIAL_PARTS))


def test_both_invitation_forms_round_trip() -> None:
    assert formats.read_invitation_xml(PASSWORD_INVITATION) == PASSWORD_PARTS
    assert formats.read_invitation_xml(CREDENTIAL_INVITATION) == CREDENTIAL_PARTS


def test_the_invitation_forms_have_the_windows_shapes() -> None:
    assert PASSWORD_INVITATION == (
        '<PEERINVITATION VERSION="1.1"><CLOUDNAME>Global_</CLOUDNAME><SCOPE>GLOBAL</SCOPE>'
        "<CLOUDFLAGS>0</CLOUDFLAGS><GROUPPEERNAME>0.g&lt;&amp;</GROUPPEERNAME>"
        "<GROUPFRIENDLYNAME>Chess &amp; co</GROUPFRIENDLYNAME>"
        '<PEERSTATESIGNED xmlns:dt="urn:schemas-microsoft-com:datatypes" dt:dt="bin.base64">c2lnbmVk'
        "</PEERSTATESIGNED></PEERINVITATION>"
    )
    assert CREDENTIAL_INVITATION == (
        '<PEERINVITATION VERSION="1.0"><CLOUDNAME>LinkLocal_{1}</CLOUDNAME><SCOPE>LINKLOCAL</SCOPE>'
        '<CLOUDFLAGS>1</CLOUDFLAGS><GMC xmlns:dt="urn:schemas-microsoft-com:datatypes" dt:dt="bin.base64">'
        'cGtjczc=</GMC><PEERSTATESIGNED xmlns:dt="urn:schemas-microsoft-com:datatypes" dt:dt="bin.base64">'
        "c2lnbmVk</PEERSTATESIGNED></PEERINVITATION>"
    )


@pytest.mark.parametrize("document", [PASSWORD_INVITATION, CREDENTIAL_INVITATION])
@pytest.mark.parametrize("version", ["1.2", "2.0", "", "1.0 "])
def test_another_invitation_version_is_unsupported(document: str, version: str) -> None:
    altered = document.replace('VERSION="1.1"', f'VERSION="{version}"').replace('VERSION="1.0"', f'VERSION="{version}"')
    with pytest.raises(formats.UnsupportedVersion, match="'1.1' or '1.0' is supported"):
        formats.read_invitation_xml(altered)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (PASSWORD_INVITATION.replace('"1.1"', '"1.0"'), "<CLOUDFLAGS>, <GMC>, <PEERSTATESIGNED> in"),
        (CREDENTIAL_INVITATION.replace('"1.0"', '"1.1"'), "<CLOUDFLAGS>, <GROUPPEERNAME>"),
        (CREDENTIAL_INVITATION.replace("<CLOUDFLAGS>1", "<CLOUDFLAGS>2"), "must be 0 or 1"),
        (PASSWORD_INVITATION.replace("<CLOUDFLAGS>0", "<CLOUDFLAGS>00"), "must be 0 or 1"),
        (CREDENTIAL_INVITATION.replace("cGtjczc=", ""), "not canonical Base64"),
        (CREDENTIAL_INVITATION.replace("<GMC ", "<GMC a='1' "), "dt:dt"),
        (CREDENTIAL_INVITATION.replace("<SCOPE>", "<SCOPE x='y'>"), "must not have attributes"),
        (CREDENTIAL_INVITATION.replace("><", "> <", 1), "byte for byte"),
        (PASSWORD_INVITATION.replace("&amp; co", "&#38; co"), "byte for byte"),
        (CREDENTIAL_INVITATION.replace("PEERINVITATION", "PEERGROUPCONFIG"), "root element"),
    ],
)
def test_a_malformed_invitation_is_refused(document: str, reason: str) -> None:
    with pytest.raises(formats.MalformedDocument, match=reason) as caught:
        formats.read_invitation_xml(document)
    assert type(caught.value) is formats.MalformedDocument


# PEERGROUPCONFIG ------------------------------------------------------------------------------

CONFIG_PARTS = ("0.me", "0.g", "SiteLocal_%2", "SITELOCAL", 1, b"pkcs7", b"pfx")
CONFIG = formats.group_config_xml(*CONFIG_PARTS)


def test_a_group_config_round_trips_in_the_windows_shape() -> None:
    assert formats.read_group_config_xml(CONFIG) == CONFIG_PARTS
    assert CONFIG == (
        '<PEERGROUPCONFIG VERSION="1.0"><IDENTITYPEERNAME>0.me</IDENTITYPEERNAME>'
        "<GROUPPEERNAME>0.g</GROUPPEERNAME><CLOUDNAME>SiteLocal_%2</CLOUDNAME><SCOPE>SITELOCAL</SCOPE>"
        '<CLOUDFLAGS>1</CLOUDFLAGS><GMC xmlns:dt="urn:schemas-microsoft-com:datatypes" dt:dt="bin.base64">'
        'cGtjczc=</GMC><PEERSTATEDATA xmlns:dt="urn:schemas-microsoft-com:datatypes" dt:dt="bin.base64">'
        "cGZ4</PEERSTATEDATA></PEERGROUPCONFIG>"
    )


@pytest.mark.parametrize(
    ("document", "exception", "reason"),
    [
        (CONFIG.replace('"1.0"', '"1.1"'), formats.UnsupportedVersion, "'1.0' is supported"),
        (CONFIG.replace("<GMC", "<IDC").replace("</GMC", "</IDC"), formats.MalformedDocument, "exactly"),
        (CONFIG.replace("cGtjczc=", "cGtjczd="), formats.MalformedDocument, "not canonical Base64"),
        (CONFIG.replace('VERSION="1.0"', "VERSION='1.0'"), formats.MalformedDocument, "byte for byte"),
        (CONFIG + "\n", formats.MalformedDocument, "byte for byte"),
    ],
)
def test_a_malformed_group_config_is_refused(document: str, exception: type[Exception], reason: str) -> None:
    with pytest.raises(exception, match=reason):
        formats.read_group_config_xml(document)
