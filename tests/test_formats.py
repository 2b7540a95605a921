"""The XML documents: exact shapes, hostile input refused before or during a defused parse."""

from __future__ import annotations

import pytest

from peerstate import formats

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
        ("x" * (formats.MAX_DOCUMENT_CHARS + 1), "at most"),
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
