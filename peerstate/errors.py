"""Every HRESULT that peerstate can return, and the exceptions that carry them.

Values are the Windows SDK header's (``p2p.h`` and ``winerror.h``); a unit test checks each one
against a copy of them (``tests/facts/windows-p2p.json``). Codes are data rather than one class each, so a value can be
found from its name (scenario files speak names) and a name from its value (a caller porting
Windows code compares numbers). Exceptions exist only for the kinds callers need to catch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Final, Literal, TypeAlias, cast, get_args

import attrs


@attrs.frozen
class HResult:
    """One HRESULT: its header name, its 32-bit value and what it means."""

    name: str
    value: int
    meaning: str

    @property
    def succeeded(self) -> bool:
        """Whether the severity bit is clear, as SUCCEEDED() tests it."""
        return self.value & 0x8000_0000 == 0

    def __str__(self) -> str:
        return f"{self.name} (0x{self.value:08X})"


_TABLE: Final[tuple[tuple[str, int, str], ...]] = (
    # Generic codes named on the function pages (section 2.5).
    ("S_OK", 0x00000000, "Success"),
    ("E_INVALIDARG", 0x80070057, "One of the arguments is not valid"),
    ("E_OUTOFMEMORY", 0x8007000E, "Not enough memory"),
    ("E_ACCESSDENIED", 0x80070005, "Access denied"),
    ("E_UNEXPECTED", 0x8000FFFF, "Terminated unexpectedly"),
    ("E_HANDLE", 0x80070006, "Invalid handle"),
    ("ERROR_INVALID_HANDLE", 0x80070006, "Invalid handle (Win32 error 6 as an HRESULT)"),
    ("ERROR_DELETE_PENDING", 0x8007012F, "The identity has been deleted or is being deleted"),
    ("ERROR_SERVICE_DEPENDENCY_FAIL", 0x8007042C, "A service this one depends on is not running"),
    # FACILITY_P2P errors (2.2), successes (2.3) and FACILITY_WIN32-based PEER codes (2.4).
    ('PEER_E_IPV6_NOT_INSTALLED', 0x80630001, 'IPv6 is not installed'),
    ('PEER_E_NOT_INITIALIZED', 0x80630002, 'Component not initialised (Startup not called)'),
    ('PEER_E_CANNOT_START_SERVICE', 0x80630003, 'A required service (pnrpsvc, p2psvc, p2pimsvc, p2phost) cannot start'),
    ('PEER_E_NOT_LICENSED', 0x80630004, 'P2P not licensed on this OS'),
    ('PEER_E_INVALID_GRAPH', 0x80630010, 'Invalid graph handle'),
    ('PEER_E_DBNAME_CHANGED', 0x80630011, 'Graphing database name changed'),
    ('PEER_E_DUPLICATE_GRAPH', 0x80630012, 'A graph with this ID already exists'),
    ('PEER_E_GRAPH_NOT_READY', 0x80630013, 'Graph not ready'),
    ('PEER_E_GRAPH_SHUTTING_DOWN', 0x80630014, 'Graph shutting down'),
    ('PEER_E_GRAPH_IN_USE', 0x80630015, 'Graph still in use'),
    ('PEER_E_INVALID_DATABASE', 0x80630016, 'Graph database corrupt'),
    ('PEER_E_TOO_MANY_ATTRIBUTES', 0x80630017, 'Too many attributes'),
    ('PEER_E_CONNECTION_NOT_FOUND', 0x80630103, 'Connection not found'),
    ('PEER_E_CONNECT_SELF', 0x80630106, 'Peer tried to connect to itself'),
    ('PEER_E_ALREADY_LISTENING', 0x80630107, 'Already listening'),
    ('PEER_E_NODE_NOT_FOUND', 0x80630108, 'Node not found'),
    ('PEER_E_CONNECTION_FAILED', 0x80630109, 'Connection attempt failed'),
    ('PEER_E_CONNECTION_NOT_AUTHENTICATED', 0x8063010A, 'Connection could not be authenticated'),
    ('PEER_E_CONNECTION_REFUSED', 0x8063010B, 'Connection refused (e.g. remote at its connection limit, or the connection already exists)'),
    ('PEER_E_CLASSIFIER_TOO_LONG', 0x80630201, 'Classifier too long'),
    ('PEER_E_TOO_MANY_IDENTITIES', 0x80630202, 'Maximum number of identities reached'),
    ('PEER_E_NO_KEY_ACCESS', 0x80630203, 'Cannot access a key (key directory)'),
    ('PEER_E_GROUPS_EXIST', 0x80630204, 'The identity still has groups on this peer'),
    ('PEER_E_RECORD_NOT_FOUND', 0x80630301, 'Record not found'),
    ('PEER_E_DATABASE_ACCESSDENIED', 0x80630302, 'Database access denied'),
    ('PEER_E_DBINITIALIZATION_FAILED', 0x80630303, 'Database could not be initialised'),
    ('PEER_E_MAX_RECORD_SIZE_EXCEEDED', 0x80630304, 'Record too big'),
    ('PEER_E_DATABASE_ALREADY_PRESENT', 0x80630305, 'Database already exists'),
    ('PEER_E_DATABASE_NOT_PRESENT', 0x80630306, 'Database not found'),
    ('PEER_E_IDENTITY_NOT_FOUND', 0x80630401, 'Identity not found'),
    ('PEER_E_EVENT_HANDLE_NOT_FOUND', 0x80630501, 'Event handle not found'),
    ('PEER_E_INVALID_SEARCH', 0x80630601, 'Invalid search'),
    ('PEER_E_INVALID_ATTRIBUTES', 0x80630602, 'Invalid (search/record) attributes'),
    ('PEER_E_INVITATION_NOT_TRUSTED', 0x80630701, 'Invitation not trusted / not valid'),
    ('PEER_E_CHAIN_TOO_LONG', 0x80630703, 'Certificate (GMC) chain too long (more than 24)'),
    ('PEER_E_INVALID_TIME_PERIOD', 0x80630705, 'Time period invalid (invitation or credential validity)'),
    ('PEER_E_CIRCULAR_CHAIN_DETECTED', 0x80630706, 'Circular certificate chain (e.g. A invites B, then B invites A)'),
    ('PEER_E_CERT_STORE_CORRUPTED', 0x80630801, 'Certificate store corrupted'),
    ('PEER_E_NO_CLOUD', 0x80631001, 'The named PNRP cloud does not exist'),
    ('PEER_E_CLOUD_NAME_AMBIGUOUS', 0x80631005, 'Cloud name ambiguous (more than one cloud with the same scope)'),
    ('PEER_E_INVALID_RECORD', 0x80632010, 'Record invalid'),
    ('PEER_E_NOT_AUTHORIZED', 0x80632020, 'Not authorised'),
    ('PEER_E_PASSWORD_DOES_NOT_MEET_POLICY', 0x80632021, 'Password does not meet policy'),
    ('PEER_E_DEFERRED_VALIDATION', 0x80632030, 'Record validation deferred'),
    ('PEER_E_INVALID_GROUP_PROPERTIES', 0x80632040, 'Group properties invalid'),
    ('PEER_E_INVALID_PEER_NAME', 0x80632050, 'Peer name invalid'),
    ('PEER_E_INVALID_CLASSIFIER', 0x80632060, 'Classifier invalid'),
    ('PEER_E_INVALID_FRIENDLY_NAME', 0x80632070, 'Friendly name invalid'),
    ('PEER_E_INVALID_ROLE_PROPERTY', 0x80632071, 'Invalid role property'),
    ('PEER_E_INVALID_CLASSIFIER_PROPERTY', 0x80632072, 'Invalid classifier property (the classifier in the invitation used to join is invalid)'),
    ('PEER_E_INVALID_RECORD_EXPIRATION', 0x80632080, 'Invalid record expiration'),
    ('PEER_E_INVALID_CREDENTIAL_INFO', 0x80632081, 'Invalid credential info'),
    ('PEER_E_INVALID_CREDENTIAL', 0x80632082, 'Invalid credential (the invitation used to join)'),
    ('PEER_E_INVALID_RECORD_SIZE', 0x80632083, 'Invalid record size'),
    ('PEER_E_UNSUPPORTED_VERSION', 0x80632090, 'Unsupported version'),
    ('PEER_E_GROUP_NOT_READY', 0x80632091, 'Group not ready: not connected or not yet synchronised'),
    ('PEER_E_GROUP_IN_USE', 0x80632092, 'Group still in use (import while connected, or joining a group that is already open)'),
    ('PEER_E_INVALID_GROUP', 0x80632093, 'Group handle invalid, or group marked for deletion'),
    ('PEER_E_NO_MEMBERS_FOUND', 0x80632094, 'No active members found'),
    ('PEER_E_NO_MEMBER_CONNECTIONS', 0x80632095, 'A member was found but could not take a connection'),
    ('PEER_E_UNABLE_TO_LISTEN', 0x80632096, 'Unable to listen (port may be unavailable)'),
    ('PEER_E_IDENTITY_DELETED', 0x806320A0, 'Identity deleted / does not exist'),
    ('PEER_E_SERVICE_NOT_AVAILABLE', 0x806320A1, 'Service not available'),
    ('PEER_E_CONTACT_NOT_FOUND', 0x80636001, 'Contact not found (Collaboration)'),
    ('PEER_E_CANNOT_CONVERT_PEER_NAME', 0x80634001, 'Peer name cannot be converted to a DNS (PNRP) name'),
    ('PEER_E_INVALID_PEER_HOST_NAME', 0x80634002, 'Invalid peer host name'),
    ('PEER_E_NO_MORE', 0x80634003, 'No more data'),
    ('PEER_E_PNRP_DUPLICATE_PEER_NAME', 0x80634005, 'Peer name already registered'),
    ('PEER_E_INVITE_CANCELLED', 0x80637000, 'Collaboration invite cancelled'),
    ('PEER_E_INVITE_RESPONSE_NOT_AVAILABLE', 0x80637001, 'Collaboration invite: no response'),
    ('PEER_E_NOT_SIGNED_IN', 0x80637003, 'Serverless presence: not signed in'),
    ('PEER_E_PRIVACY_DECLINED', 0x80637004, 'Privacy declined'),
    ('PEER_E_TIMEOUT', 0x80637005, 'Time-out'),
    ('PEER_E_INVALID_ADDRESS', 0x80637007, 'Invalid address'),
    ('PEER_E_FW_EXCEPTION_DISABLED', 0x80637008, 'Firewall exception disabled'),
    ('PEER_E_FW_BLOCKED_BY_POLICY', 0x80637009, 'Firewall blocked by policy'),
    ('PEER_E_FW_BLOCKED_BY_SHIELDS_UP', 0x8063700A, 'Firewall "shields up"'),
    ('PEER_E_FW_DECLINED', 0x8063700B, 'Firewall exception declined'),
    ('PEER_S_GRAPH_DATA_CREATED', 0x00630001, 'Graph data created'),
    ('PEER_S_NO_EVENT_DATA', 0x00630002, 'Event queue empty (GetEventData)'),
    ('PEER_S_NO_CONNECTIVITY', 0x00630005, 'Sign-in succeeded but there is no IPv6 connectivity'),
    ('PEER_S_ALREADY_A_MEMBER', 0x00630006, 'Already a member (PasswordJoin repeated)'),
    ('PEER_S_ALREADY_CONNECTED', 0x00632000, 'Already connected to the group/graph'),
    ('PEER_S_SUBSCRIPTION_EXISTS', 0x00636000, 'Subscription already exists (Collaboration)'),
    ('PEER_E_NOT_FOUND', 0x80070490, 'Not found'),
    ('PEER_E_DISK_FULL', 0x80070070, 'Disk full'),
    ('PEER_E_ALREADY_EXISTS', 0x800700B7, 'Already exists'),
    ('PEER_E_CLOUD_NOT_FOUND', 0x80072CED, 'PNRP cloud not found'),
    ('PEER_E_CLOUD_DISABLED', 0x80072CEE, 'PNRP cloud disabled'),
    ('PEER_E_INVALID_IDENTITY', 0x80072CEF, 'Invalid PNRP identity'),
    ('PEER_E_TOO_MUCH_LOAD', 0x80072CF0, 'PNRP too much load'),
    ('PEER_E_CLOUD_IS_SEARCH_ONLY', 0x80072CF1, 'PNRP cloud is search only'),
    ('PEER_E_CLIENT_INVALID_COMPARTMENT_ID', 0x80072CF2, 'PNRP invalid compartment id'),
    ('PEER_E_DUPLICATE_PEER_NAME', 0x80072CF4, 'PNRP duplicate peer name'),
    ('PEER_E_CLOUD_IS_DEAD', 0x80072CF5, 'PNRP cloud is dead'),
)

PASSED_THROUGH: Final[tuple[tuple[str, int, str], ...]] = (
    ("E_FAIL", 0x80004005, "Unspecified failure"),
    ("ERROR_FILE_NOT_FOUND", 0x80070002, "The file was not found (Win32 error 2 as an HRESULT)"),
    ("ERROR_PATH_NOT_FOUND", 0x80070003, "The path was not found (Win32 error 3 as an HRESULT)"),
)
"""Not in the reference's tables: the file-system failures that the database export and
import pass through, as the reference (section 1.2) says they do, as HRESULT_FROM_WIN32."""
HRESULTS: Final = MappingProxyType(
    {name: HResult(name, value, meaning) for name, value, meaning in (*_TABLE, *PASSED_THROUGH)}
)
"""Every known HRESULT by name."""

_BY_VALUE: Final = MappingProxyType(
    {value: HRESULTS[name] for name, value, _ in reversed((*_TABLE, *PASSED_THROUGH))}
)


def by_name(name: str) -> HResult:
    """The HRESULT called ``name``; ``KeyError`` names the unknown code."""
    return HRESULTS[name]


def by_value(value: int) -> HResult:
    """The HRESULT with this value; where two names share one value, the first one declared."""
    return _BY_VALUE[value & 0xFFFF_FFFF]


S_OK: Final = HRESULTS["S_OK"]

ErrorName: TypeAlias = Literal[
    "E_INVALIDARG", "E_OUTOFMEMORY", "E_ACCESSDENIED", "E_UNEXPECTED", "E_HANDLE",
    "ERROR_INVALID_HANDLE", "ERROR_DELETE_PENDING", "ERROR_SERVICE_DEPENDENCY_FAIL",
    "PEER_E_IPV6_NOT_INSTALLED", "PEER_E_NOT_INITIALIZED", "PEER_E_CANNOT_START_SERVICE",
    "PEER_E_NOT_LICENSED", "PEER_E_INVALID_GRAPH", "PEER_E_DBNAME_CHANGED",
    "PEER_E_DUPLICATE_GRAPH", "PEER_E_GRAPH_NOT_READY", "PEER_E_GRAPH_SHUTTING_DOWN",
    "PEER_E_GRAPH_IN_USE", "PEER_E_INVALID_DATABASE", "PEER_E_TOO_MANY_ATTRIBUTES",
    "PEER_E_CONNECTION_NOT_FOUND", "PEER_E_CONNECT_SELF", "PEER_E_ALREADY_LISTENING",
    "PEER_E_NODE_NOT_FOUND", "PEER_E_CONNECTION_FAILED", "PEER_E_CONNECTION_NOT_AUTHENTICATED",
    "PEER_E_CONNECTION_REFUSED", "PEER_E_CLASSIFIER_TOO_LONG", "PEER_E_TOO_MANY_IDENTITIES",
    "PEER_E_NO_KEY_ACCESS", "PEER_E_GROUPS_EXIST", "PEER_E_RECORD_NOT_FOUND",
    "PEER_E_DATABASE_ACCESSDENIED", "PEER_E_DBINITIALIZATION_FAILED",
    "PEER_E_MAX_RECORD_SIZE_EXCEEDED", "PEER_E_DATABASE_ALREADY_PRESENT",
    "PEER_E_DATABASE_NOT_PRESENT", "PEER_E_IDENTITY_NOT_FOUND", "PEER_E_EVENT_HANDLE_NOT_FOUND",
    "PEER_E_INVALID_SEARCH", "PEER_E_INVALID_ATTRIBUTES", "PEER_E_INVITATION_NOT_TRUSTED",
    "PEER_E_CHAIN_TOO_LONG", "PEER_E_INVALID_TIME_PERIOD", "PEER_E_CIRCULAR_CHAIN_DETECTED",
    "PEER_E_CERT_STORE_CORRUPTED", "PEER_E_NO_CLOUD", "PEER_E_CLOUD_NAME_AMBIGUOUS",
    "PEER_E_INVALID_RECORD", "PEER_E_NOT_AUTHORIZED", "PEER_E_PASSWORD_DOES_NOT_MEET_POLICY",
    "PEER_E_DEFERRED_VALIDATION", "PEER_E_INVALID_GROUP_PROPERTIES", "PEER_E_INVALID_PEER_NAME",
    "PEER_E_INVALID_CLASSIFIER", "PEER_E_INVALID_FRIENDLY_NAME", "PEER_E_INVALID_ROLE_PROPERTY",
    "PEER_E_INVALID_CLASSIFIER_PROPERTY", "PEER_E_INVALID_RECORD_EXPIRATION",
    "PEER_E_INVALID_CREDENTIAL_INFO", "PEER_E_INVALID_CREDENTIAL", "PEER_E_INVALID_RECORD_SIZE",
    "PEER_E_UNSUPPORTED_VERSION", "PEER_E_GROUP_NOT_READY", "PEER_E_GROUP_IN_USE",
    "PEER_E_INVALID_GROUP", "PEER_E_NO_MEMBERS_FOUND", "PEER_E_NO_MEMBER_CONNECTIONS",
    "PEER_E_UNABLE_TO_LISTEN", "PEER_E_IDENTITY_DELETED", "PEER_E_SERVICE_NOT_AVAILABLE",
    "PEER_E_CONTACT_NOT_FOUND", "PEER_E_CANNOT_CONVERT_PEER_NAME", "PEER_E_INVALID_PEER_HOST_NAME",
    "PEER_E_NO_MORE", "PEER_E_PNRP_DUPLICATE_PEER_NAME", "PEER_E_INVITE_CANCELLED",
    "PEER_E_INVITE_RESPONSE_NOT_AVAILABLE", "PEER_E_NOT_SIGNED_IN", "PEER_E_PRIVACY_DECLINED",
    "PEER_E_TIMEOUT", "PEER_E_INVALID_ADDRESS", "PEER_E_FW_EXCEPTION_DISABLED",
    "PEER_E_FW_BLOCKED_BY_POLICY", "PEER_E_FW_BLOCKED_BY_SHIELDS_UP", "PEER_E_FW_DECLINED",
    "PEER_E_NOT_FOUND", "PEER_E_DISK_FULL", "PEER_E_ALREADY_EXISTS", "PEER_E_CLOUD_NOT_FOUND",
    "PEER_E_CLOUD_DISABLED", "PEER_E_INVALID_IDENTITY", "PEER_E_TOO_MUCH_LOAD",
    "PEER_E_CLOUD_IS_SEARCH_ONLY", "PEER_E_CLIENT_INVALID_COMPARTMENT_ID",
    "PEER_E_DUPLICATE_PEER_NAME", "PEER_E_CLOUD_IS_DEAD", "E_FAIL", "ERROR_FILE_NOT_FOUND",
    "ERROR_PATH_NOT_FOUND"
]
"""The name of every error HRESULT, as mypy checks it where one is raised: a misspelled name
is a type error, not a ``KeyError`` at run time. A test holds it to the table."""
ERROR_NAMES: Final[frozenset[str]] = frozenset(get_args(ErrorName))


def error_name(text: str) -> ErrorName | None:
    """``text`` as an error HRESULT's name, if it is one: for a name read from outside (a
    message from another peer), which mypy cannot check."""
    return cast(ErrorName, text) if text in ERROR_NAMES else None


class PeerError(Exception):
    """A call failed with a documented HRESULT.

    ``name`` and ``hresult`` identify the code as Windows would return it; the message says
    what was wrong in this particular call, because the code alone rarely does.
    """

    code: ClassVar[ErrorName | None] = None

    def __init__(self, message: str, *, name: ErrorName | None = None, rule: str | None = None) -> None:
        chosen = name or self.code
        if chosen is None:
            raise TypeError("PeerError needs the HRESULT name")
        result = by_name(chosen)
        if result.succeeded:
            raise ValueError(f"{chosen} is a success code, not an error")
        super().__init__(f"{result}: {message}")
        self.result = result
        self._name: ErrorName = chosen
        self.message = message
        self.rule = rule
        """The registered rule that refused (``peerstate.domain.registry``): the name a
        stored refusal keeps, stable whatever helpers the rule calls."""

    @property
    def name(self) -> ErrorName:
        return self._name

    @property
    def hresult(self) -> int:
        return self.result.value


class InvalidArgument(PeerError, ValueError):
    code = "E_INVALIDARG"


class NotFound(PeerError, LookupError):
    code = "PEER_E_NOT_FOUND"


class AlreadyExists(PeerError):
    code = "PEER_E_ALREADY_EXISTS"


class NoKeyAccess(PeerError, PermissionError):
    code = "PEER_E_NO_KEY_ACCESS"


class NotAuthorized(PeerError, PermissionError):
    code = "PEER_E_NOT_AUTHORIZED"


class GroupNotReady(PeerError):
    code = "PEER_E_GROUP_NOT_READY"


class InvalidGroup(PeerError):
    code = "PEER_E_INVALID_GROUP"


_SUBCLASSES: Final[Mapping[str, type[PeerError]]] = MappingProxyType(
    {cls.code: cls for cls in (InvalidArgument, NotFound, AlreadyExists, NoKeyAccess,
                               NotAuthorized, GroupNotReady, InvalidGroup) if cls.code}
)


def peer_error(name: ErrorName, message: str, rule: str | None = None) -> PeerError:
    """A ``PeerError`` for ``name``, of the subclass that callers catch for that code."""
    cls = _SUBCLASSES.get(name, PeerError)
    return cls(message, name=name, rule=rule)
