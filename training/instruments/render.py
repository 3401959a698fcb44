"""Rendering notes with `fluidsynth` into a pipe, cutting, aligning,
fading and resampling them, and 16-bit WAV I/O."""

from __future__ import annotations

import os
import subprocess
import tempfile
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from training.instruments.gm import (
    CLIP_SECONDS,
    CUT_MS,
    FADE_MS,
    LEAD_IN_MS,
    ONSET_DB,
    PRE_ROLL_MS,
    RENDER_RATE,
    SAMPLE_RATE,
    SLOT_MS,
)
from training.instruments.midi import (
    _note_midi,
)
from training.instruments.sf2 import (
    find_fluidsynth,
)


def render_notes(
    soundfont: str | os.PathLike,
    programs: Sequence[tuple[int, Sequence[tuple[int, int]]]],
    fluidsynth: str | None = None,
    workdir: str | os.PathLike | None = None,
) -> Iterable[np.ndarray]:
    """Renders single notes with fluidsynth; yields one window per note.

    ``programs`` is a sequence of (GM program, [(pitch, velocity), ...]).
    All notes go through one fluidsynth process (one soundfont load), which
    streams float audio at :data:`RENDER_RATE` into a pipe. Each yielded
    window is mono float32 at 16 kHz, starting :data:`PRE_ROLL_MS` before
    its note-on and lasting until the note is cut (4.3 s after note-on).
    The MIDI file lives in a temporary directory under ``workdir``.
    """
    from scipy.signal import resample_poly

    binary = find_fluidsynth(fluidsynth)
    data, count = _note_midi(programs)
    with tempfile.TemporaryDirectory(
        prefix="instruments-midi-", dir=workdir
    ) as tmp:
        midi_path = os.path.join(tmp, "notes.mid")
        with open(midi_path, "wb") as f:
            f.write(data)
        err_path = os.path.join(tmp, "stderr.txt")
        command = [
            binary, "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.5",
            "-r", str(RENDER_RATE), "-O", "float", "-T", "raw", "-E",
            "little", "-o", "synth.cpu-cores=1", "-F", "/dev/stdout",
            os.fspath(soundfont), midi_path,
        ]  # fmt: skip
        frame = 8  # stereo float32
        per_ms = RENDER_RATE // 1000
        window = (PRE_ROLL_MS + CUT_MS) * per_ms * frame
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                bufsize=1 << 20,
            )
            try:  # a 1 MiB pipe (Linux) halves the time spent waiting on it
                import fcntl

                fcntl.fcntl(proc.stdout.fileno(), 1031, 1 << 20)
            except (ImportError, OSError):
                pass
            rendered = 0
            try:
                skip = (LEAD_IN_MS - PRE_ROLL_MS) * per_ms * frame
                _read_exactly(proc.stdout, skip)
                gap = (SLOT_MS - CUT_MS - PRE_ROLL_MS) * per_ms * frame
                for k in range(count):
                    raw = _read_exactly(proc.stdout, window)
                    if len(raw) < window:
                        break
                    x = np.frombuffer(raw, "<f4").reshape(-1, 2)
                    x = (x[:, 0] + x[:, 1]) * np.float32(0.5)
                    y = resample_poly(x, 1, RENDER_RATE // SAMPLE_RATE)
                    rendered += 1
                    yield y.astype(np.float32, copy=False)
                    if gap and k + 1 < count:
                        _read_exactly(proc.stdout, gap)
                proc.stdout.read()
            finally:
                proc.stdout.close()
                code = proc.wait()
        message = Path(err_path).read_text(errors="replace").strip()
        if code != 0 or rendered < count:
            raise RuntimeError(
                f"fluidsynth failed on {soundfont} (exit {code}, rendered "
                f"{rendered} of {count} notes): {message[-2000:]}"
            )


def _read_exactly(stream, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def trim_note(window: np.ndarray) -> tuple[np.ndarray, float]:
    """Aligns a rendered window to its onset; returns (clip, raw peak).

    The onset is the first sample within 50 dB of the window's peak, looked
    for from 50 ms into the window (its note-on is at 100 ms; the first
    milliseconds may hold the previous note's last block). The clip starts
    1 ms before the onset, lasts :data:`CLIP_SECONDS` (zero-padded) and
    fades out over the last 50 ms; the peak is the clip's, before fading.
    """
    n = int(CLIP_SECONDS * SAMPLE_RATE)
    window = window[PRE_ROLL_MS * SAMPLE_RATE // 2000 :]
    clip = np.zeros(n, np.float32)
    peak = float(np.max(np.abs(window))) if window.size else 0.0
    if peak <= 0.0:
        return clip, 0.0
    above = np.abs(window) > peak * 10 ** (-ONSET_DB / 20)
    start = max(0, int(np.argmax(above)) - SAMPLE_RATE // 1000)
    piece = window[start : start + n]
    clip[: piece.size] = piece
    peak = float(np.max(np.abs(clip)))
    fade = int(FADE_MS * SAMPLE_RATE / 1000)
    clip[-fade:] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade))
    return clip, peak


def write_wav(path: str | os.PathLike, audio: np.ndarray, rate: int) -> None:
    """Writes mono 16-bit PCM; ``audio`` must lie in [-1, 1]."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        raise ValueError(f"audio would clip (peak {peak:.3f}): {path}")
    pcm = np.round(audio * 32767.0).astype("<i2")
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Reads a mono 16-bit PCM WAV as float32 in [-1, 1]."""
    with wave.open(os.fspath(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected mono 16-bit PCM")
        data = w.readframes(w.getnframes())
        rate = w.getframerate()
    return np.frombuffer(data, "<i2").astype(np.float32) / 32767.0, rate
