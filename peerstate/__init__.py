"""peerstate: the Windows Peer Grouping and Identity Manager semantics as an event-sourced state machine.

What an embedding application needs is here: ``Peer`` and its settings, stores, errors,
the request a credential call takes, the two kinds of invitation ``parse_invitation``
gives, the event registration ``register_event`` takes, and the header's flag enums its calls accept.
"""

from peerstate.constants import (
    PeerGroupAuthenticationScheme,
    PeerGroupIssueCredentialFlags,
    PeerGroupPropertyFlags,
    PeerRecordFlags,
)
from peerstate.errors import HResult, PeerError
from peerstate.calls.credentials import CredentialRequest
from peerstate.calls.sessions import Interest
from peerstate.documents.invitations import CredentialInvitation, PasswordInvitation
from peerstate.peer import NamePair, Peer, PeerSettings
from peerstate.storage.opening import open_store
from peerstate.storage.peer_store import PeerStore

__all__ = [
    "CredentialInvitation",
    "CredentialRequest",
    "HResult",
    "Interest",
    "NamePair",
    "PasswordInvitation",
    "Peer",
    "PeerError",
    "PeerGroupAuthenticationScheme",
    "PeerGroupIssueCredentialFlags",
    "PeerGroupPropertyFlags",
    "PeerRecordFlags",
    "PeerSettings",
    "PeerStore",
    "open_store",
]
__version__ = "0.1.0"
