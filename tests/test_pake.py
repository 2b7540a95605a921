"""The password exchange (``crypto.pake``): the ``srp`` package as peerstate drives it
passes RFC 5054's test vectors (Appendix B), and a wrong password, or an unsafe public
value, gives no shared key."""

from __future__ import annotations

import hashlib
import sys

import pytest
import srp  # type: ignore[import-untyped]

from peerstate.crypto import pake  # importing it turns on RFC 5054's padding, which the vectors need


def _hex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


I, P = "alice", b"password123"
S_SALT = _hex("BEB25379 D1A8581E B5A72767 3A2441EE")
V = _hex("""
    7E273DE8 696FFC4F 4E337D05 B4B375BE B0DDE156 9E8FA00A 9886D812 9BADA1F1 822223CA 1A605B53 0E379BA4 729FDC59
    F105B478 7E5186F5 C671085A 1447B52A 48CF1970 B4FB6F84 00BBF4CE BFBB1681 52E08AB5 EA53D15C 1AFF87B2 B9DA6E04
    E058AD51 CC72BFC9 033B564E 26480D78 E955A5E2 9E7AB245 DB2BE315 E2099AFB""")
A_SECRET = _hex("60975527 035CF2AD 1989806F 0407210B C81EDC04 E2762A56 AFD529DD DA2D4393")
B_SECRET = _hex("E487CB59 D31AC550 471E81F0 0F6928E0 1DDA08E9 74A004F4 9E61F5D1 05284D20")
A = _hex("""
    61D5E490 F6F1B795 47B0704C 436F523D D0E560F0 C64115BB 72557EC4 4352E890 3211C046 92272D8B 2D1A5358 A2CF1B6E
    0BFCF99F 921530EC 8E393561 79EAE45E 42BA92AE ACED8251 71E1E8B9 AF6D9C03 E1327F44 BE087EF0 6530E69F 66615261
    EEF54073 CA11CF58 58F0EDFD FE15EFEA B349EF5D 76988A36 72FAC47B 0769447B""")
B = _hex("""
    BD0C6151 2C692C0C B6D041FA 01BB152D 4916A1E7 7AF46AE1 05393011 BAF38964 DC46A067 0DD125B9 5A981652 236F99D9
    B681CBF8 7837EC99 6C6DA044 53728610 D0C6DDB5 8B318885 D7D82C7F 8DEB75CE 7BD4FBAA 37089E6F 9C6059F3 88838E7A
    00030B33 1EB76840 910440B1 B27AAEAE EB4012B7 D7665238 A8E3FB00 4B117B58""")
PREMASTER = _hex("""
    B0DC82BA BCF30674 AE450C02 87745E79 90A3381F 63B387AA F271A10D 233861E3 59B48220 F7C4693C 9AE12B0A 6F67809F
    0876E2D0 13800D6C 41BB59B6 D5979B5C 00A172B4 A2A5903A 0BDCAF8A 709585EB 2AFAFA8F 3499B200 210DCC1F 10EB3394
    3CD67FC8 8A2F39A4 BE5BEC4E C0A3212D C346D7E4 74B29EDE 8A469FFE CA686E5A""")


def test_the_rfc_5054_vectors_hold() -> None:
    """Appendix B: SHA-1, the 1024-bit group. The session key ``srp`` gives is the hash of
    the premaster secret."""
    user = srp.User(I, P, srp.SHA1, srp.NG_1024, bytes_a=A_SECRET)
    _, public = user.start_authentication()
    assert bytes(public) == A
    verifier = srp.Verifier(I, S_SALT, V, A, srp.SHA1, srp.NG_1024, bytes_b=B_SECRET)
    salt, challenge = verifier.get_challenge()
    assert (bytes(salt), bytes(challenge)) == (S_SALT, B)
    proof = user.process_challenge(S_SALT, B)
    user.verify_session(verifier.verify_session(proof))
    assert user.authenticated() and verifier.authenticated()
    assert bytes(verifier.get_session_key()) == bytes(user.get_session_key()) == hashlib.sha1(PREMASTER).digest()


def test_the_right_password_passes() -> None:
    made = pake.new_verifier("group", b"stretched")
    joiner = pake.Joiner("group", b"stretched")
    listening = pake.Listening("group", made, joiner.public)
    assert max(len(joiner.public), len(listening.public)) <= pake.PUBLIC_BYTES and len(made.salt) == pake.SALT_BYTES  # shorter by a byte when it leads with 0
    proof = joiner.proof(listening.salt, listening.public)
    assert proof is not None and listening.proof_matches(proof)


def test_a_wrong_password_the_verifier_itself_or_a_replayed_proof_fails() -> None:
    """Guessed wrong; the verifier, which every member holds, used as the password; and the
    right proof of one exchange given in another: none passes."""
    made = pake.new_verifier("group", b"stretched")
    for wrong in (b"guessed", made.verifier):
        joiner = pake.Joiner("group", wrong)
        listening = pake.Listening("group", made, joiner.public)
        proof = joiner.proof(listening.salt, listening.public)
        assert proof is not None and not listening.proof_matches(proof)
    joiner = pake.Joiner("group", b"stretched")
    first, second = pake.Listening("group", made, joiner.public), pake.Listening("group", made, joiner.public)
    proof = joiner.proof(first.salt, first.public)
    assert proof is not None and first.public != second.public and not second.proof_matches(proof)


def test_an_unsafe_public_value_is_refused() -> None:
    """A public value 0 modulo the group's prime would fix the session key whatever the
    password: neither side goes on with one."""
    made = pake.new_verifier("group", b"stretched")
    listening = pake.Listening("group", made, bytes(pake.PUBLIC_BYTES))
    assert listening.unsafe and not listening.proof_matches(bytes(32))
    assert pake.Joiner("group", b"stretched").proof(made.salt, bytes(pake.PUBLIC_BYTES)) is None


@pytest.mark.parametrize("verifier", [bytes(pake.PUBLIC_BYTES), pake.PRIME.to_bytes(pake.PUBLIC_BYTES, "big")], ids=["zero", "prime"])
def test_a_verifier_that_fixes_the_session_key_is_refused(verifier: bytes) -> None:
    """The attack: a group whose SRP verifier is 0 modulo the prime (a creator's
    ``PasswordVerifier``; no password gives one) fixes the listener's session key: its
    premaster secret is 0, so anyone computes ``M`` from the public values alone. Before,
    the listener checked that ``M`` and let the joiner in; now it calls such an exchange
    unsafe, and no proof passes."""
    a = int.from_bytes(hashlib.sha256(b"the attacker's secret").digest(), "big")
    listening = pake.Listening("group", pake.Verifier(b"salt", verifier), pow(5, a, pake.PRIME).to_bytes(pake.PUBLIC_BYTES, "big"))
    checker = listening._checker
    backend = sys.modules[type(checker).__module__]  # the half of ``srp`` in use, OpenSSL's or pure Python
    forged = backend.calculate_M(checker.hash_class, checker.N, checker.g, checker.I, checker.s, checker.A, checker.B, hashlib.sha256(b"").digest())
    assert not listening.proof_matches(forged)
    assert listening.unsafe
