"""Scenario values: arguments decoded from names and times, results encoded back, variables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from peerstate.constants import (
    PeerGroupAuthenticationScheme,
    PeerGroupEventType,
    PeerGroupStatus,
    PeerMemberFlags,
    PnrpCloudFlags,
    PnrpScope,
)
from peerstate.errors import HRESULTS
from peerstate.names import ROLE_ADMIN, ROLE_MEMBER
from peerstate.scenario.problems import KeyPathError, format_path
from peerstate.scenario.values import canonical_times, decode_args, encode, format_time, parse_time
from peerstate.scenario.variables import parse_reference, substitute

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
OTHER_GUID = "6f1d7d4e-0b7a-4d39-9f6c-000000000001"


def test_names_become_values_in_any_depth_of_the_arguments() -> None:
    args = decode_args(
        {
            "pProperties": {
                "dwAuthenticationSchemes": ["PEER_GROUP_GMC_AUTHENTICATION",
                                            "PEER_GROUP_PASSWORD_AUTHENTICATION"],
                "groupPasswordRole": "PEER_GROUP_ROLE_MEMBER",
                "dwFlags": [],
                "pwzClassifier": "chess",
            },
            "pEventRegistrations": [{"eventType": "PEER_GROUP_EVENT_STATUS_CHANGED"},
                                    {"eventType": "PEER_GROUP_EVENT_RECORD_CHANGED",
                                     "pType": OTHER_GUID}],
            "pRoles": ["PEER_GROUP_ROLE_ADMIN", OTHER_GUID],
            "dwFlags": 3,
            "cCount": 2,
            "pwzNothing": None,
        },
        NOW,
    )
    schemes = args["pProperties"]["dwAuthenticationSchemes"]
    assert (type(schemes), int(schemes)) == (PeerGroupAuthenticationScheme, 3)
    assert args["pProperties"]["groupPasswordRole"] == ROLE_MEMBER
    assert (args["pProperties"]["dwFlags"], args["pProperties"]["pwzClassifier"]) == (0, "chess")
    assert args["pEventRegistrations"] == [
        {"eventType": PeerGroupEventType.PEER_GROUP_EVENT_STATUS_CHANGED},
        {"eventType": PeerGroupEventType.PEER_GROUP_EVENT_RECORD_CHANGED, "pType": OTHER_GUID},
    ]
    assert type(args["pEventRegistrations"][0]["eventType"]) is PeerGroupEventType
    assert args["pRoles"] == [ROLE_ADMIN, OTHER_GUID]
    assert (args["dwFlags"], args["cCount"], args["pwzNothing"]) == (3, 2, None)


def test_filetime_fields_take_utc_times_or_seconds_from_the_simulated_clock() -> None:
    args = decode_args(
        {"pftExpiration": {"inSeconds": 3600}, "ftValidityStart": "2026-02-01T00:00:00Z",
         "pCredentialInfo": {"ftValidityEnd": {"inSeconds": -60}}, "ftNone": None},
        NOW,
    )
    assert args["pftExpiration"] == NOW + timedelta(hours=1)
    assert args["ftValidityStart"] == datetime(2026, 2, 1, tzinfo=UTC)
    assert args["ftValidityStart"].tzinfo is UTC
    assert args["pCredentialInfo"]["ftValidityEnd"] == NOW - timedelta(minutes=1)
    assert args["ftNone"] is None


@pytest.mark.parametrize(
    ("args", "key_path", "words"),
    [
        ({"pftExpiration": "tomorrow"}, "pftExpiration", "not an ISO-8601 time"),
        ({"pftExpiration": "2026-01-01T01:00:00+01:00"}, "pftExpiration", "not a UTC time"),
        ({"p": [{"ftWhen": {"inSeconds": 1, "x": 2}}]}, "p[0].ftWhen", "neither an ISO-8601 time"),
        ({"ftWhen": 1767225600}, "ftWhen", "1767225600 is neither an ISO-8601 time nor"),
        ({"p": {"dwFlags": ["PEER_MEMBER_PRESENT", "PEER_NOPE"]}}, "p.dwFlags[1]",
         "not the name of a flag"),
        ({"dwFlags": [7]}, "dwFlags[0]", "not the name of a flag"),
        ({"dwFlags": ["PEER_GROUP_STATUS_LISTENING", "PEER_MEMBER_PRESENT"]}, "dwFlags[1]",
         "PEER_MEMBER_PRESENT is a PeerMemberFlags, PEER_GROUP_STATUS_LISTENING a PeerGroupStatus"),
    ],
)
def test_a_value_that_cannot_be_decoded_names_its_key_path(
    args: dict[str, Any], key_path: str, words: str
) -> None:
    with pytest.raises(KeyPathError) as caught:
        decode_args(args, NOW)
    assert format_path(caught.value.path) == key_path
    assert words in caught.value.message


def test_results_are_written_as_a_scenario_writes_them() -> None:
    out = encode(
        {
            "pdwStatus": PeerGroupStatus.PEER_GROUP_STATUS_LISTENING
            | PeerGroupStatus.PEER_GROUP_STATUS_HAS_CONNECTIONS,
            "dwCloudFlags": PnrpCloudFlags.PNRP_CLOUD_NO_FLAGS,
            "dwScope": PnrpScope.PNRP_GLOBAL_SCOPE,
            "hr": HRESULTS["PEER_E_CONNECTION_FAILED"],
            "times": (datetime(2026, 1, 1, tzinfo=UTC),
                      datetime(2026, 1, 1, 1, 0, 0, 500, tzinfo=timezone(timedelta(hours=1)))),
            "pRoles": [ROLE_ADMIN, UUID(OTHER_GUID)],
            "data": b"\x00\xffdata",
            "count": 3,
            "flag": True,
            "nothing": None,
        }
    )
    assert out == {
        "pdwStatus": ["PEER_GROUP_STATUS_LISTENING", "PEER_GROUP_STATUS_HAS_CONNECTIONS"],
        "dwCloudFlags": [],
        "dwScope": "PNRP_GLOBAL_SCOPE",
        "hr": "PEER_E_CONNECTION_FAILED",
        "times": ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000500Z"],
        "pRoles": ["PEER_GROUP_ROLE_ADMIN", OTHER_GUID],
        "data": "AP9kYXRh",
        "count": 3,
        "flag": True,
        "nothing": None,
    }


def test_encoding_refuses_what_it_cannot_write_faithfully() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        encode({"ftWhen": datetime(2026, 1, 1)})
    with pytest.raises(ValueError, match="no PeerMemberFlags name"):
        encode(PeerMemberFlags(0x11))


def test_a_saved_result_decodes_back_to_the_values_it_came_from() -> None:
    original = {
        "dwFlags": PeerGroupAuthenticationScheme(3),
        "ftValidityEnd": datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC),
        "pRoles": [ROLE_MEMBER],
        "eventType": PeerGroupEventType.PEER_GROUP_EVENT_MEMBER_CHANGED,
    }
    assert decode_args(encode(original), NOW) == original


def test_times_parse_and_format_as_iso_8601_utc() -> None:
    assert parse_time("2026-01-01T00:00:00+00:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert format_time(datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)) == "2026-01-01T00:00:01Z"
    assert canonical_times(
        {"pftNow": "2026-01-01T00:00:00.000+00:00", "list": [{"ftA": "2026-01-01T00:00:00Z"}],
         "ftMatch": {"$ordered": ["2026-01-01T00:00:00+00:00"]}, "pwzName": "2026",
         "ftVariable": "$when"}
    ) == {"pftNow": "2026-01-01T00:00:00Z", "list": [{"ftA": "2026-01-01T00:00:00Z"}],
          "ftMatch": {"$ordered": ["2026-01-01T00:00:00Z"]}, "pwzName": "2026",
          "ftVariable": "$when"}


SAVED = {"g": {"pwzGroupPeerName": "abc.chess", "pRoles": ["PEER_GROUP_ROLE_ADMIN"],
               "items": [{"sub": 1}, {"sub": "$not a variable"}]}, "x": "plain"}


def lookup(reference: Any) -> Any:
    if reference.variable not in SAVED:
        raise LookupError(f"${reference.variable} was not saved")
    return reference.follow(SAVED[reference.variable])


def test_variables_and_paths_into_them_are_substituted_in_values_only() -> None:
    tree = {"a": "$x", "b": ["$g.items[1].sub", "$g.pRoles[0]"], "$len": "$$x", "c": "$$$x",
            "d": "$g"}
    assert substitute(tree, lookup) == {
        "a": "plain", "b": ["$not a variable", "PEER_GROUP_ROLE_ADMIN"], "$len": "$x",
        "c": "$$x", "d": SAVED["g"],
    }
    assert parse_reference("$g.items[1].sub").steps == ("items", 1, "sub")


@pytest.mark.parametrize(
    ("text", "words"),
    [("$y", "$y was not saved"), ("$g.missing", "$g.missing: .missing is not a field"),
     ("$g.items[2]", "$g.items[2]: [2] is not an item"), ("$x.field", "is not a field"),
     ("$g..items", "write $$ for a literal $"), ("$", "not a variable")],
)
def test_a_variable_that_cannot_be_followed_names_its_key_path(text: str, words: str) -> None:
    with pytest.raises(KeyPathError) as caught:
        substitute({"args": [{"pwzIdentity": text}]}, lookup)
    assert format_path(caught.value.path) == "args[0].pwzIdentity"
    assert words in caught.value.message
