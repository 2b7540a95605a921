"""Example applications that embed peerstate through its public API."""
