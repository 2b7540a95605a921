"""The PostgreSQL server the store tests run against, where there is one.

``PEERSTATE_TEST_POSTGRES`` names it (``postgresql://user@host:port/database``); each test
makes a schema of its own there. Without it the tests that need it skip, with a message
saying how to run them, unless ``PEERSTATE_REQUIRE_POSTGRES`` is set: CI sets both
(``.ci/run`` starts a server on loopback), so there a missing server fails the run.
"""

from __future__ import annotations

import os

import pytest


def postgres_server() -> str:
    """The server's URL, or skip (fail, where it is required) the calling test."""
    url = os.environ.get("PEERSTATE_TEST_POSTGRES")
    if not url:
        message = (
            "no PostgreSQL server: set PEERSTATE_TEST_POSTGRES=postgresql://user@host:port/database "
            "(.ci/run starts one on loopback and sets it)"
        )
        if os.environ.get("PEERSTATE_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    return url
