"""Fake audio datasets written by the tests: tones, the instrument
dataset's layout."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import soundfile  # the audio extra, which make setup installs

from training import instruments

RATE = 16000  # the instrument dataset's sample rate
SR = 8000  # write_tone's default rate
FAMILIES = list(instruments.FAMILIES)


def write_tone(path, freq, seconds=0.25, sr=SR, channels=1, **kwargs):
    """A sine of `freq` Hz at `path` (folders made); returns the samples."""
    t = np.arange(int(round(sr * seconds))) / sr
    x = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    if channels == 2:
        x = np.stack([x, x], axis=1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    soundfile.write(path, x, sr, **kwargs)
    return x


def tone(label: int, seconds: float, rng) -> np.ndarray:
    """A decaying tone whose pitch tells the class, plus a little noise."""
    t = np.arange(int(seconds * RATE)) / RATE
    freq = 200.0 * 2 ** (label / 4)
    wave = np.sin(2 * np.pi * freq * t) * np.exp(-3 * t)
    return (0.5 * wave + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def write_fake_instruments(root: Path, per_split=None, seconds=0.4, seed=0):
    """The layout `build_instrument_dataset.py` writes: `metadata.csv`,
    `audio/<split>/*.wav` and a `COMPLETE` manifest."""
    per_split = per_split or {
        "train": 22,
        "valid": 11,
        "test_instrument": 11,
        "test_soundfont": 11,
    }
    rng = np.random.default_rng(seed)
    rows = []
    for split, count in per_split.items():
        folder = root / "audio" / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            label = i % len(FAMILIES)
            name = f"audio/{split}/{FAMILIES[label]}_{i:03d}.wav"
            soundfile.write(root / name, tone(label, seconds, rng), RATE)
            rows.append(
                {
                    "filename": name,
                    "split": split,
                    "family": FAMILIES[label],
                    "family_id": label,
                    "soundfont": "fake",
                    "program": 0,
                    "program_name": "fake",
                    "pitch": 60,
                    "velocity": 100,
                    "lineage": "fake",
                    "instrument": f"fake/{label:03d}",
                }
            )
    with open(root / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    config = {"test_soundfonts": ["fake_heldout"]}
    (root / "COMPLETE").write_text(json.dumps({"config": config}))
    return rows
