"""Standard MIDI files of spaced single notes (1 tick = 1 ms)."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from training.instruments.gm import (
    CUT_MS,
    LEAD_IN_MS,
    NOTE_SECONDS,
    PRE_ROLL_MS,
    SLOT_MS,
)

# MIDI and rendering.


def _vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def midi_file(events: Iterable[tuple[int, bytes]], end_ms: int) -> bytes:
    """A format-0 MIDI file from (time in ms, channel message) pairs.

    The file runs at 1000 ticks per quarter note and 1 s per quarter note,
    so one tick is one millisecond. Events at equal times keep their order.
    """
    track = bytearray(
        _vlq(0) + b"\xff\x51\x03" + (1_000_000).to_bytes(3, "big")
    )
    now = 0
    for t, message in sorted(events, key=lambda e: e[0]):
        track += _vlq(t - now) + message
        now = t
    track += _vlq(max(0, end_ms - now)) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 1000)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def _note_midi(
    programs: Sequence[tuple[int, Sequence[tuple[int, int]]]],
) -> tuple[bytes, int]:
    """MIDI for notes played one at a time; returns (file, note count)."""
    events: list[tuple[int, bytes]] = []
    k = 0
    for program, notes in programs:
        t0 = LEAD_IN_MS + k * SLOT_MS - PRE_ROLL_MS // 2
        events += [
            (t0, bytes([0xB0, 121, 0])),  # reset controllers
            (t0, bytes([0xB0, 0, 0])),  # bank 0
            (t0, bytes([0xB0, 32, 0])),
            (t0, bytes([0xC0, program])),
        ]
        for pitch, velocity in notes:
            on = LEAD_IN_MS + k * SLOT_MS
            events += [
                (on, bytes([0x90, pitch, velocity])),
                (on + int(NOTE_SECONDS * 1000), bytes([0x80, pitch, 0])),
                (on + CUT_MS, bytes([0xB0, 120, 0])),  # all sound off
            ]
            k += 1
    return midi_file(events, LEAD_IN_MS + k * SLOT_MS), k
