"""The written-out decoders and tree writers (``peerstate.wire.generated``) show their
source: it is kept in ``linecache`` under a filename of each function's own, and each
function is named for what it does, so a traceback, pdb or ``inspect.getsource`` shows the
line a generated function was at and which one it is, as for attrs' own methods."""

from __future__ import annotations

import inspect
import io
import linecache
import pdb
import re
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
import orjson
import pytest

from peerstate import wire
from peerstate.domain.group_events import Envelope, Record

from test_wire import MESSAGE, RECORD

BROKEN_GUID = orjson.loads(MESSAGE.replace(b'"aa478da7-03e8-3a9f-59af-827c0e115193"', b'"r1"'))
"""An envelope whose record's id is not a GUID: every written-out decoder on the way hands it to its careful one."""


def _frames(error: BaseException) -> dict[str, traceback.FrameSummary]:
    """The frames of ``error``'s traceback, by function name."""
    return {frame.name: frame for frame in traceback.extract_tb(error.__traceback__)}


def _shown(function: Callable[..., Any]) -> str:
    """The source ``linecache`` holds for ``function``'s filename: what tracebacks and pdb show."""
    return "".join(linecache.getlines(function.__code__.co_filename))


@pytest.mark.parametrize("canonical", [False, True])
def test_a_mismatch_met_in_a_written_out_decoder_shows_its_line_and_its_name(canonical: bool) -> None:
    decode = wire.decoder(Envelope, canonical)
    with pytest.raises(Exception, match="not a GUID") as raised:
        decode(BROKEN_GUID)
    frame = _frames(raised.value)["decode_Envelope"]
    assert frame.filename == decode.__code__.co_filename
    assert frame.filename.startswith("<peerstate generated ") and frame.filename.endswith("Envelope>")
    assert frame.line == "return _careful(tree)"
    assert (decode.__name__, decode.__qualname__) == ("decode_Envelope", "decode_Envelope")


def test_pdb_lists_the_source_of_a_written_out_decoder() -> None:
    """Post mortem, two frames up from where the mismatch was raised (its careful decoder,
    then the written-out one that handed the tree over), ``list`` shows the line it is at."""
    with pytest.raises(Exception, match="not a GUID") as raised:
        wire.decoder(Envelope)(BROKEN_GUID)
    shown = io.StringIO()
    debugger = pdb.Pdb(stdin=io.StringIO("up\nup\nlist\nquit\n"), stdout=shown, readrc=False)
    debugger.reset()
    debugger.interaction(None, raised.tb)
    assert "Envelope>(" in shown.getvalue() and "decode_Envelope()" in shown.getvalue()
    assert re.search(r"^\s*\d+\s+->\s+return _careful\(tree\)$", shown.getvalue(), re.MULTILINE), shown.getvalue()


def test_an_error_raised_through_a_written_out_tree_writer_shows_its_line_and_its_name() -> None:
    with pytest.raises(wire.WireError, match="no time zone") as raised:
        wire.plain(attrs.evolve(RECORD, modified=datetime(2026, 1, 1)))
    frame = _frames(raised.value)["tree_of_Record"]
    assert frame.line is not None and frame.line.startswith("'modified': ")


def test_inspect_finds_the_source_of_each_written_out_function() -> None:
    functions = [wire.decoder(Envelope, False), wire.decoder(Envelope, True), wire.decoder(Record, False), wire._tree_writer(Record)]
    for function in functions:
        source = inspect.getsource(function)
        assert source.startswith(f"def {function.__name__}(") and source == _shown(function)
    assert len({function.__code__.co_filename for function in functions}) == len(functions)


def test_classes_of_one_name_each_show_their_own_source() -> None:
    """Two classes of one qualified name (made by one factory) get written-out functions
    of different sources: each must show its own, under a filename of its own."""
    number = attrs.make_class("Point", {"x": attrs.field(type=int)}, frozen=True)
    text = attrs.make_class("Point", {"x": attrs.field(type=str)}, frozen=True)
    decoders = [wire.decoder(number), wire.decoder(text)]
    assert decoders[0]({"@type": "Point", "x": 1}) == number(1) and decoders[1]({"@type": "Point", "x": "1"}) == text("1")
    assert decoders[0].__code__.co_filename != decoders[1].__code__.co_filename
    assert [inspect.getsource(decode) for decode in decoders] == [_shown(decode) for decode in decoders]
    assert "is not int" in _shown(decoders[0]) and "is not str" in _shown(decoders[1])
