"""peerstate: the Windows Peer Grouping and Identity Manager semantics as an event-sourced state machine."""

from peerstate.errors import HResult, PeerError
from peerstate.peer import NamePair, Peer, PeerSettings
from peerstate.store import PeerStore, open_store

__all__ = ["HResult", "NamePair", "Peer", "PeerError", "PeerSettings", "PeerStore", "open_store"]
__version__ = "0.1.0"
