"""A hostile input corpus, run by one parametrized test: every attack file through every entry
point of its format must be refused with the documented HRESULT, quickly, within a memory
bound, and without changing the peer.

Layout
------
``tests/corpus/<format>/`` holds one case per attack, named after the attack. A case is its
sidecar ``<attack>.json`` and, when the payload is a file, ``<attack>.xml`` or ``<attack>.bin``
beside it:

- ``.xml``: text, read as UTF-8, strictly; a BOM stays in the text as U+FEFF, as
  ``open(path, encoding="utf-8")`` keeps it.
- ``.bin``: bytes that are not UTF-8 (all or in part). The API takes ``str``, so the sidecar's
  ``decode`` (``encoding``, ``errors``) says how a caller turned them into one: ``utf-8`` with
  ``surrogateescape`` (what Python does with undecodable bytes from the OS: lone surrogates),
  ``utf-8`` with ``surrogatepass`` (a UTF-8-encoded surrogate kept as a lone surrogate), or
  ``latin-1`` (never fails; UTF-16 becomes a NUL after every ASCII character).
- no file: the sidecar's ``generate``, ``[[text, count], ...]`` concatenated (the 10 MiB and
  deep nesting cases, so nothing big is committed), or ``build``, the name of a builder in
  ``tests/corpus_cases.BUILDERS`` that makes the case at run time from the module's fixture
  (certificates, signatures, key derivation parameters), dated on the peer's fixed clock
  ``T0``, so nothing committed can expire.

The sidecar's keys: ``attack`` (what the case is); ``expect``, the HRESULT name that every
entry point of the format must give, or an object from entry point to name with ``"*"`` for
the others (an entry point that it does not name, with no ``"*"``, is not run: a GMC
invitation that expired reads fine, and only ``PeerGroupJoin`` refuses it); ``why``, when
entry points differ (the Peer calls check their arguments first: a NUL, or a string over the
call's cap, is ``E_INVALIDARG`` before any document is read, docs/scenario-format.md §4.1); ``decode``,
``generate``, ``build``; ``fork`` (below); ``password`` (default ``corpus_cases.PASSWORD``).

``_valid*.xml`` is each format's control: the document the static attacks were derived from.
``python -m tests.corpus_cases`` derives them again; a test checks that the files are what
their recipes make, and another that the readers accept the controls, so each attack is
refused for its attack and not for a broken base.

Entry points (``corpus_cases.ENTRY_POINTS``): invitations through ``read_invitation``,
``Peer.parse_invitation``, ``Peer.join`` and ``Peer.password_join``; identity XML through
``cards.identity_card`` and ``Peer.create_invitation``; identity exports through
``Peer.import_identity``; group configurations through ``configs.read_group_config`` and
``Peer.import_config`` (``fOverwrite`` TRUE); record attributes through ``read_attributes`` and
``Peer.add_record``; searches through ``read_search`` and ``Peer.search_records``. One peer on an
in-memory store at ``T0`` serves the module; each run checks that it is left as it was. A
reader itself (``READERS``) refuses under a registered rule of its own module.

Bounds
------
Each run must finish within ``TIME_BOUND`` (``time.perf_counter``) with a ``tracemalloc``
peak under ``MEMORY_BOUND`` (Python's allocations, expat's among them; not OpenSSL's). A case
whose true parameters would run for minutes or allocate gigabytes natively (a PKCS#12 MAC
iteration count of 2^31-1, Argon2 parameters from an invitation) has ``"fork": true``: it
runs in a forked child with its address space capped, killed once the bound has passed.

Findings
--------
A run that is not refused as documented, or too slowly, is a finding: ``FINDINGS`` names it
with the reason, and it is marked ``xfail(strict=True)``, so it shows until it is fixed and
fails the suite as soon as it passes.
"""

from __future__ import annotations

import fnmatch
import json
import multiprocessing
import os
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Final, NamedTuple

import pytest

from peerstate import PeerError, crypto
from peerstate.documents import cards, configs, formats, invitations, record_attributes, record_search
from peerstate.errors import by_name
from peerstate.registry import RULES

from tests.corpus_cases import (
    BUILDERS,
    CORPUS,
    ENTRY_POINTS,
    PASSWORD,
    PAYLOAD_SUFFIXES,
    Case,
    World,
    control,
    derived_payloads,
    load_cases,
    make_world,
)

TIME_BOUND: Final = 2.0
"""Seconds. The slowest sound call here opens a PKCS#12 export, about 0.2 s."""
MEMORY_BOUND: Final = 64 * 2**20
CHILD_HEADROOM: Final = 512 * 2**20
"""How much more address space a forked child may map than it started with."""
CHILD_GRACE: Final = 0.25
"""What a forked child may take beyond ``TIME_BOUND`` to start and report, before it is killed."""

FINDINGS: Final[dict[str, str]] = {}
"""Every finding of the first run is fixed: lone surrogates, prologs that passed, identity
certificates whose signature did not verify, and key derivation parameters from outside."""

CASES: Final = load_cases()


class Verdict(NamedTuple):
    outcome: str
    """The HRESULT name, "no error", or what else happened."""
    seconds: float
    peak: int
    """The tracemalloc peak in bytes; -1 when unknown (a child that was killed)."""
    changed: str
    """Empty when the peer is as it was; otherwise what changed."""


def _runs() -> Iterator[object]:
    for case in CASES:
        for entry in case.expected():
            run = f"{case.id}@{entry}"
            reasons = [reason for pattern, reason in FINDINGS.items() if fnmatch.fnmatchcase(run, pattern)]
            marks = [pytest.mark.xfail(strict=True, reason=reasons[0])] if reasons else []
            yield pytest.param(case, entry, id=run, marks=marks)


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.mark.parametrize(("case", "entry"), list(_runs()))
def test_the_attack_is_refused_quickly_and_changes_nothing(world: World, case: Case, entry: str) -> None:
    expected = case.expected()[entry]
    text = case.payload(world)
    verdict = (_attempt_in_child if case.fork else _attempt)(world, case, entry, text)
    problems = []
    if verdict.outcome != expected:
        problems.append(f"the outcome is {verdict.outcome}, not {expected}")
    if verdict.seconds >= TIME_BOUND:
        problems.append(f"it took {verdict.seconds:.2f} s (bound {TIME_BOUND} s)")
    if verdict.peak >= MEMORY_BOUND:
        problems.append(f"it allocated {verdict.peak / 2**20:.1f} MiB at its peak (bound {MEMORY_BOUND / 2**20:.0f} MiB)")
    if verdict.changed:
        problems.append(f"the peer changed: {verdict.changed}")
    assert not problems, f"{case.id} through {entry} ({case.sidecar['attack']}): " + "; ".join(problems)


READERS: Final = {
    "read_invitation": invitations.__name__, "identity_card": cards.__name__, "read_group_config": configs.__name__,
    "read_attributes": record_attributes.__name__, "read_search": record_search.__name__,
}
"""The entry points that are a format's reader itself, and the module whose rules refuse for it."""


def _outcome(call: Callable[[], object], rules_of: str | None = None) -> str:
    """The HRESULT that ``call`` is refused with; with ``rules_of``, only under a rule of that module."""
    try:
        call()
    except PeerError as error:
        if rules_of is not None and (error.rule not in RULES or RULES[error.rule].module != rules_of):
            return f"{error.name} under {error.rule!r}, not a rule of {rules_of}"
        return error.name
    except Exception as error:  # what a caller of the API would not expect: the finding itself
        return f"{type(error).__name__} ({str(error)[:200]})"
    return "no error"


def _attempt(world: World, case: Case, entry: str, text: str) -> Verdict:
    call = ENTRY_POINTS[case.format][entry]
    before = world.snapshot()
    tracemalloc.start()
    try:
        start = time.perf_counter()
        outcome = _outcome(lambda: call(world, text, case), READERS.get(entry))
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    after = world.snapshot()
    changed = [f"{what} {old!r} became {new!r}" for what, old, new in zip(_SNAPSHOT, before, after) if old != new]
    return Verdict(outcome, seconds, peak, "; ".join(changed))


_SNAPSHOT: Final = ("the store's head", "the identities", "the identities' groups")


def _attempt_in_child(world: World, case: Case, entry: str, text: str) -> Verdict:
    """``_attempt`` in a forked child with its address space capped, killed once it has run
    past the bound: a derivation that would take hours is cut short, one that would take
    gigabytes fails in the child."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("this platform cannot fork")
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        _cap_address_space()
        sender.send(_attempt(world, case, entry, text))

    process = context.Process(target=child, daemon=True)
    start = time.perf_counter()
    process.start()
    sender.close()
    try:
        if not receiver.poll(TIME_BOUND + CHILD_GRACE):
            return Verdict("still running: killed", time.perf_counter() - start, -1, "")
        verdict: Verdict = receiver.recv()
        return verdict
    except EOFError:
        process.join()
        return Verdict(f"the child died (exit code {process.exitcode})", time.perf_counter() - start, -1, "")
    finally:
        process.kill()
        process.join()
        receiver.close()


def _cap_address_space() -> None:
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError):
        return
    resource.setrlimit(resource.RLIMIT_AS, (mapped + CHILD_HEADROOM, resource.getrlimit(resource.RLIMIT_AS)[1]))


# The corpus itself ---------------------------------------------------------------------------

_SIDECAR_KEYS: Final = {"attack", "expect", "why", "decode", "generate", "build", "fork", "password"}


def test_every_case_has_a_sidecar_that_says_what_it_expects_and_one_payload() -> None:
    problems = []
    for case in CASES:
        sidecar = case.sidecar
        sources = len(case.payload_files()) + ("generate" in sidecar) + ("build" in sidecar)
        expected = case.expected()
        if not set(sidecar) <= _SIDECAR_KEYS or not isinstance(sidecar.get("attack"), str):
            problems.append(f"{case.id}: keys {sorted(sidecar)}")
        if sources != 1:
            problems.append(f"{case.id}: {sources} payload sources")
        if not expected or (isinstance(sidecar["expect"], dict) and not set(sidecar["expect"]) <= {"*", *ENTRY_POINTS[case.format]}):
            problems.append(f"{case.id}: expect names no entry point, or one the format does not have")
        for name in expected.values():
            if by_name(name).succeeded:
                problems.append(f"{case.id}: {name} is not an error")
        if any(path.suffix == ".bin" for path in case.payload_files()) != ("decode" in sidecar):
            problems.append(f"{case.id}: a .bin payload needs decode, and only it")
        if "build" in sidecar and sidecar["build"] not in BUILDERS.get(case.format, {}):
            problems.append(f"{case.id}: no builder {sidecar['build']!r}")
    named = {case.path.with_suffix(suffix) for case in CASES for suffix in PAYLOAD_SUFFIXES}
    for path in CORPUS.rglob("*"):
        if path.is_file() and path.suffix != ".json" and not path.name.startswith("_") and path not in named:
            problems.append(f"{path.relative_to(CORPUS)} has no sidecar")
    assert not problems, "\n".join(problems)
    assert {case.format for case in CASES} == set(ENTRY_POINTS)


def test_the_static_payloads_are_what_their_recipes_make() -> None:
    derived = derived_payloads()
    on_disk = {
        path for path in CORPUS.rglob("*")
        if path.suffix in PAYLOAD_SUFFIXES and not path.name.startswith("_")
    }
    assert set(derived) == on_disk
    stale = sorted(str(path.relative_to(CORPUS)) for path, data in derived.items() if path.read_bytes() != data)
    assert stale == [], "run python -m tests.corpus_cases"


def test_the_controls_are_accepted() -> None:
    """Each attack was derived from a document that its format reads."""
    for name in ("_valid-credential.xml", "_valid-password.xml"):
        invitations.read_invitation(control("invitations", name))
    cards.identity_card(control("identity-xml"), "pwzIdentityInfo")
    _, pfx = formats.read_identity_export_xml(control("identity-exports"))
    crypto.import_pkcs12(pfx, PASSWORD)
    configs.read_group_config(control("group-configs"), PASSWORD)
    assert record_attributes.read_attributes(control("attributes"))
    record_search.read_search(control("searches"))


def test_every_finding_marks_a_run() -> None:
    runs = [f"{case.id}@{entry}" for case in CASES for entry in case.expected()]
    assert [pattern for pattern in FINDINGS if not fnmatch.filter(runs, pattern)] == []


def test_the_corpus_is_json_without_duplicate_keys() -> None:
    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    for case in CASES:
        json.loads(case.path.read_text(encoding="utf-8"), object_pairs_hook=unique)
