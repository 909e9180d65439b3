"""The pieces of a streamed answer as the turn publishes them (runtime/turns.py
`StreamSignals`): the model's chunks of one answer read in the same tick of the LLM loop go
as one `delta` signal, with the offsets and numbering a client relies on; a discard comes
after the pieces it takes back; off a loop each piece goes at once."""
import asyncio
from types import SimpleNamespace

import pytest

from runtime import delivery
from runtime.turns import StreamSignals


@pytest.fixture
def published():
    signals = []
    collect = delivery.subscribe_signals(lambda conversation, signal: signals.append(signal))
    yield signals
    delivery.unsubscribe_signals(collect)


def _signals():
    # A channel no live client follows: only the test's subscriber sees the signals.
    return StreamSignals(SimpleNamespace(pk=1, channel="cli"), SimpleNamespace(pk=7))


def _pieces(signals):
    return [(s["delta"], s["offset"], s["index"]) for s in signals if not s.get("discard")]


def test_chunks_read_together_go_as_one_piece_and_the_next_tick_as_the_next(published):
    stream = _signals()

    async def model():
        for chunk in ("one ", "two ", "three "):  # one read of the socket: one tick
            stream.piece("answer:0", chunk)
        assert published == []  # held until the tick ends
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        stream.piece("answer:0", "four")
        await asyncio.sleep(0)

    asyncio.run(model())
    assert _pieces(published) == [("one two three ", 0, 0), ("four", 14, 1)]
    assert {(s["streamId"], s["eventId"]) for s in published} == {("answer:0", 7)}


def test_two_streams_in_one_tick_keep_their_own_offsets(published):
    stream = _signals()

    async def model():
        stream.piece("think:0", "hmm")
        stream.piece("answer:0", "Hi")
        stream.piece("answer:0", " there")
        await asyncio.sleep(0)

    asyncio.run(model())
    assert sorted((s["streamId"], s["delta"], s["offset"], s["index"]) for s in published) == [
        ("answer:0", "Hi there", 0, 0), ("think:0", "hmm", 0, 0)]


def test_a_discard_comes_after_the_pieces_of_its_tick(published):
    stream = _signals()

    async def model():
        stream.piece("answer:0", "let me look")
        stream.discard("answer:0")
        await asyncio.sleep(0)

    asyncio.run(model())
    assert [(s["delta"], bool(s.get("discard"))) for s in published] == [("let me look", False), ("", True)]


def test_off_a_loop_every_piece_goes_at_once(published):
    stream = _signals()
    stream.piece("answer:0", "one ")
    assert _pieces(published) == [("one ", 0, 0)]
    stream.piece("answer:0", "two")
    assert _pieces(published) == [("one ", 0, 0), ("two", 4, 1)]
