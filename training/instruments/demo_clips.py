"""A few demo clips per family (the bundled samples)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from training.instruments.gm import (
    CLIP_SECONDS,
    FADE_MS,
    FAMILIES,
    GM_PROGRAMS,
    SAMPLE_RATE,
    SILENCE_PEAK,
    TARGET_PEAK,
    pitch_range,
    programs_of,
)
from training.instruments.render import (
    render_notes,
    trim_note,
    write_wav,
)
from training.instruments.sf2 import (
    resolve_soundfont,
)

# Demo clips.


# Demo programs, most typical first: acoustic instruments before synthetic
# ones, and never two programs that share samples in FluidR3_GM.
DEMO_PROGRAMS: dict[str, tuple[int, ...]] = {
    "bass": (33, 32, 38),
    "brass": (56, 57, 60),
    "flute": (73, 72, 75),
    "guitar": (24, 27, 25),
    "keyboard": (0, 4, 6),
    "mallet": (12, 11, 9),
    "organ": (19, 16, 21),
    "reed": (65, 71, 68),
    "string": (40, 42, 46),
    "synth_lead": (81, 80, 84),
    "vocal": (52, 53, 54),
}


def write_demo_clips(
    out: str | os.PathLike,
    soundfont: str = "fluidr3_gm",
    per_family: int = 2,
    seconds: float = 1.0,
    soundfont_path: str | os.PathLike | None = None,
    fluidsynth: str | None = None,
) -> list[Path]:
    """Writes short demo clips, ``per_family`` per family, into ``out``.

    Each clip is ``seconds`` long (16 kHz mono 16-bit), a different program
    of the family (see :data:`DEMO_PROGRAMS`) at a mid-range pitch and
    velocity 100, peak-normalised to
    -1 dBFS with a 50 ms fade-out. Also writes ``demo_clips.csv``. With the
    defaults: 22 clips, ~0.7 MB.
    """
    if not 0 < seconds <= CLIP_SECONDS:
        raise ValueError(
            f"Expected `seconds` in (0, {CLIP_SECONDS}]. Received: {seconds}"
        )
    spec, info = resolve_soundfont(soundfont, soundfont_path)
    chosen = []
    for family in FAMILIES:
        order = list(DEMO_PROGRAMS[family])
        order += [p for p in programs_of(family) if p not in order]
        for program in [p for p in order if p in info.programs][:per_family]:
            low, high = pitch_range(program)
            chosen.append((family, program, (low + high + 1) // 2))
    windows = render_notes(
        spec.path, [(p, [(pitch, 100)]) for _, p, pitch in chosen], fluidsynth
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = int(seconds * SAMPLE_RATE)
    fade = int(FADE_MS * SAMPLE_RATE / 1000)
    paths, lines = [], io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(["filename", "family", "soundfont", "program",
                     "program_name", "pitch", "velocity"])  # fmt: skip
    for (family, program, pitch), window in zip(chosen, windows, strict=True):
        clip, peak = trim_note(window)
        clip = clip[:n].copy()
        clip[-fade:] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade))
        if peak < SILENCE_PEAK:
            continue
        clip *= TARGET_PEAK / float(np.max(np.abs(clip)))
        name = f"{family}_{soundfont}_p{program:03d}_n{pitch:03d}.wav"
        write_wav(out / name, clip, SAMPLE_RATE)
        paths.append(out / name)
        writer.writerow([name, family, soundfont, program,
                         GM_PROGRAMS[program][0], pitch, 100])  # fmt: skip
    (out / "demo_clips.csv").write_text(lines.getvalue())
    return paths
