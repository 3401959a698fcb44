"""NSynth-style instrument-family dataset rendered from sampled GM soundfonts.

Single notes are rendered with the ``fluidsynth`` command-line synthesiser
from General MIDI (GM) soundfonts that Debian packages, then labelled with
the NSynth instrument family of their GM program. This is how NSynth itself
was made (single notes from sample libraries); here the libraries are free
GM soundfonts built from recorded instruments.

Soundfonts (see :data:`SOUNDFONTS`)
-----------------------------------
===================  ==========================  ================  =======
key                  file                        Debian package    lineage
===================  ==========================  ================  =======
fluidr3_gm           FluidR3_GM.sf2 (148 MB)     fluid-soundfont-  fluid
                                                 gm
musescore_general    MuseScore_General_Full.sf3  musescore-        fluid
                     (86 MB, Ogg-compressed)     general-soundfont
timgm6mb             TimGM6mb.sf2 (6 MB)         timgm6mb-         timgm
                                                 soundfont
sf_gmbank            sf_GMbank.sf2 (4 MB)        csound-soundfont  timgm
===================  ==========================  ================  =======

Debian's fluidsynth (2.3) links libsndfile with Vorbis, so it reads the
Ogg-compressed ``.sf3`` format directly (decoding costs ~3 s per load).

*Lineage* groups soundfonts that share recordings, measured rather than
guessed: MuseScore_General is "based on Fluid (R3) Mono GM ... based on
Fluid (R3) SoundFont by Frank Wen" (its INFO chunk) and reuses ~330 of
FluidR3's sample names; TimGM6mb and csound's sf_GMbank share 329
byte-identical samples (of 520 and 488). FluidR3 shares no sample data with
either of the latter two. Splits therefore hold out whole lineages, never
one soundfont whose recordings appear in training under another name.

Left out: ``fluidr3mono-gm-soundfont`` and ``musescore-general-soundfont-
small`` (mono/smaller re-encodings of the same Fluid recordings: duplicates),
``fluid-soundfont-gs`` (a GS add-on with variation banks and sound effects,
no bank-0 GM programs) and ``opl3-soundfont`` (synthetic: an OPL3 FM-chip
emulation, not recordings).

Classes (see :data:`GM_PROGRAMS`)
---------------------------------
The 11 NSynth families, ids in NSynth's (alphabetical) order. 96 of the 128
GM programs map to a family, 32 are excluded: synth pads (88-95) and synth
effects (96-103) are textures with no single instrument identity, the GM
"sound effects" (120-127) are not instruments, and timpani, orchestra hit,
agogo, woodblock, taiko, melodic tom, synth drum and reverse cymbal are
(mostly unpitched) percussion with no NSynth family. Synthetic GM programs
(synth bass, synth strings, synth brass, synth voice) go to the family they
imitate, as in NSynth, where family and source (acoustic / electronic /
synthetic) are independent labels. There is no percussion class: drum kits
(MIDI channel 10) map one *different* instrument to each key, so the
pitch/velocity grid does not apply, NSynth has no such family, and
unpitched noise bursts would be an easy, unrepresentative class.

Notes
-----
Every semitone in a per-program playable range (e.g. tuba 28-58, piccolo
74-103), each with ``velocities_per_pitch`` distinct velocities drawn from
NSynth's {25, 50, 75, 100, 127} (seeded). Each clip is 4 s at 16 kHz mono:
note on for 3 s, release until 4 s. One fluidsynth process renders a MIDI
file of many spaced notes for several programs of one soundfont (48 kHz,
float, reverb and chorus off) straight into a pipe; notes are cut out at
their known times, downmixed, resampled to 16 kHz (polyphase, anti-aliased),
aligned to the detected onset, faded out over the last 50 ms and peak-
normalised *per instrument* (one gain per soundfont x program, so velocity
and register keep their relative loudness) to -1 dBFS. Clips whose peak is
below -100 dBFS or 60 dB under the instrument's loudest note are dropped
(programs or keys a soundfont lacks). The float render cannot clip; the
largest raw peak is recorded in the manifest.

Splits
------
* ``test_soundfont``: every clip of the held-out lineage (default: the
  lineage of ``timgm6mb``, i.e. TimGM6mb and sf_GMbank), never seen in
  training. Rendered with fewer velocities per pitch (default 1).
* ``test_instrument``: held-out (lineage, program) pairs of the training
  lineage(s): the program is held out in *all* training soundfonts of the
  lineage, since e.g. MuseScore's violin may be Fluid's violin.
* ``valid``: further held-out (lineage, program) pairs, same rule.
* ``train``: the rest.

Programs within one soundfont also share recordings (FluidR3's pianos 0, 1
and 3 are the same samples; violin 40 and fiddle 110 too). Programs are
therefore grouped into *sharing groups*: two programs are linked when the
samples they share make up at least :data:`SHARING_THRESHOLD` of the
smaller program's sample data (measured from the soundfont's preset,
instrument and sample tables), in any soundfont of the lineage. Whole groups
move between splits. For each family, in order of fewest groups first, and
with a seeded choice among the smallest single-family groups, groups move to
``test_instrument`` until it holds ``round(0.15 * n)`` (at least 1) of the
family's ``n`` programs, as long as every family keeps at least one program
in ``train``; then to ``valid`` (``round(0.10 * n)``, at least 1) as long
as every family keeps at least two. A family with a single group cannot
appear in ``test_instrument``; the manifest reports the counts per split.

Output
------
``<out>/audio/<split>/<family>_<soundfont>_p<program>_n<pitch>_v<velocity>
.wav`` (16 kHz mono 16-bit PCM), ``metadata.csv`` (filename, split, family,
family_id, soundfont, program, program_name, pitch, velocity, lineage,
instrument), ``classes.json`` and ``COMPLETE`` (JSON: the builder's
configuration and counts). The dataset is built in a temporary sibling
directory (``.tmp-<name>-*``, holding a ``BUILDING`` file with the
builder's pid) and renamed into place once complete; a later build removes
such directories whose builder is gone.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from keras_attention import atomic

FORMAT_VERSION = 1
SAMPLE_RATE = 16000
RENDER_RATE = 48000  # fluidsynth renders here; 3:1 polyphase to 16 kHz.
CLIP_SECONDS = 4.0
NOTE_SECONDS = 3.0
NSYNTH_VELOCITIES = (25, 50, 75, 100, 127)
SHARING_THRESHOLD = 0.2
TARGET_PEAK = 10 ** (-1 / 20)  # -1 dBFS
SILENCE_PEAK = 1e-5  # -100 dBFS in the raw render
QUIET_DB = 60.0  # drop notes this far below the instrument's loudest one

# Render timeline (milliseconds; the MIDI file runs at 1 tick = 1 ms).
_LEAD_IN_MS = 300
_PRE_ROLL_MS = 100  # each window starts this long before its note-on
_SLOT_MS = 4400  # note-on to note-on
_CUT_MS = 4300  # "all sound off" after note-on; the window ends here
_FADE_MS = 50
_ONSET_DB = 50.0  # onset = first sample within this of the window peak

FAMILIES = (
    "bass",
    "brass",
    "flute",
    "guitar",
    "keyboard",
    "mallet",
    "organ",
    "reed",
    "string",
    "synth_lead",
    "vocal",
)
SPLITS = ("train", "valid", "test_instrument", "test_soundfont")
METADATA_COLUMNS = (
    "filename",
    "split",
    "family",
    "family_id",
    "soundfont",
    "program",
    "program_name",
    "pitch",
    "velocity",
    "lineage",
    "instrument",
)

# fmt: off
# GM program (0-based) -> (GM name, NSynth family or None, lowest and
# highest MIDI pitch rendered). Ranges follow the real instrument's range
# (sounding pitch), trimmed to where GM soundfonts have sensible samples.
# Debatable choices:
# * 8-15 chromatic percussion -> mallet, including celesta (keyboard-
#   actuated hammers on metal bars) and dulcimer (hammered strings).
# * 20 reed organ, 21 accordion, 23 tango accordion -> organ (GM's organ
#   group; sustained keyboard free reeds sound organ-like); 22 harmonica ->
#   reed (a blown, monophonic free reed).
# * 104-107 sitar, banjo, shamisen, koto -> guitar (plucked strings);
#   108 kalimba, 112 tinkle bell, 114 steel drums -> mallet (tuned
#   idiophones); 109 bagpipe, 111 shanai -> reed; 110 fiddle -> string.
# * 45 pizzicato strings and 46 harp -> string (GM's strings group).
# * Synthetic imitations go to the imitated family: 38-39 synth bass ->
#   bass, 50-51 synth strings -> string, 54 synth voice -> vocal, 62-63
#   synth brass -> brass; 80-87 leads -> synth_lead.
# * Excluded (None): 47 timpani, 55 orchestra hit, 88-95 pads, 96-103
#   effects, 113 agogo, 115-119 woodblock/taiko/toms/synth drum/reverse
#   cymbal, 120-127 sound effects.
GM_PROGRAMS: tuple[tuple[str, str | None, int, int], ...] = (
    ("Acoustic Grand Piano", "keyboard", 24, 96),           # 0
    ("Bright Acoustic Piano", "keyboard", 24, 96),
    ("Electric Grand Piano", "keyboard", 24, 96),
    ("Honky-tonk Piano", "keyboard", 24, 96),
    ("Electric Piano 1", "keyboard", 28, 96),
    ("Electric Piano 2", "keyboard", 28, 96),
    ("Harpsichord", "keyboard", 29, 89),
    ("Clavinet", "keyboard", 29, 88),
    ("Celesta", "mallet", 60, 103),                         # 8
    ("Glockenspiel", "mallet", 79, 103),
    ("Music Box", "mallet", 60, 100),
    ("Vibraphone", "mallet", 53, 89),
    ("Marimba", "mallet", 45, 96),
    ("Xylophone", "mallet", 65, 103),
    ("Tubular Bells", "mallet", 60, 77),
    ("Dulcimer", "mallet", 48, 88),
    ("Drawbar Organ", "organ", 36, 96),                     # 16
    ("Percussive Organ", "organ", 36, 96),
    ("Rock Organ", "organ", 36, 96),
    ("Church Organ", "organ", 24, 96),
    ("Reed Organ", "organ", 36, 89),
    ("Accordion", "organ", 41, 89),
    ("Harmonica", "reed", 55, 91),
    ("Tango Accordion", "organ", 36, 91),
    ("Acoustic Guitar (nylon)", "guitar", 40, 83),          # 24
    ("Acoustic Guitar (steel)", "guitar", 40, 84),
    ("Electric Guitar (jazz)", "guitar", 40, 86),
    ("Electric Guitar (clean)", "guitar", 40, 86),
    ("Electric Guitar (muted)", "guitar", 40, 76),
    ("Overdriven Guitar", "guitar", 40, 86),
    ("Distortion Guitar", "guitar", 40, 86),
    ("Guitar Harmonics", "guitar", 52, 96),
    ("Acoustic Bass", "bass", 28, 55),                      # 32
    ("Electric Bass (finger)", "bass", 28, 60),
    ("Electric Bass (pick)", "bass", 28, 60),
    ("Fretless Bass", "bass", 28, 60),
    ("Slap Bass 1", "bass", 28, 60),
    ("Slap Bass 2", "bass", 28, 60),
    ("Synth Bass 1", "bass", 24, 60),
    ("Synth Bass 2", "bass", 24, 60),
    ("Violin", "string", 55, 96),                           # 40
    ("Viola", "string", 48, 84),
    ("Cello", "string", 36, 76),
    ("Contrabass", "string", 28, 60),
    ("Tremolo Strings", "string", 36, 96),
    ("Pizzicato Strings", "string", 36, 96),
    ("Orchestral Harp", "string", 24, 96),
    ("Timpani", None, 0, -1),
    ("String Ensemble 1", "string", 36, 96),                # 48
    ("String Ensemble 2", "string", 36, 96),
    ("Synth Strings 1", "string", 36, 96),
    ("Synth Strings 2", "string", 36, 96),
    ("Choir Aahs", "vocal", 43, 81),
    ("Voice Oohs", "vocal", 43, 81),
    ("Synth Voice", "vocal", 43, 84),
    ("Orchestra Hit", None, 0, -1),
    ("Trumpet", "brass", 54, 84),                           # 56
    ("Trombone", "brass", 40, 74),
    ("Tuba", "brass", 28, 58),
    ("Muted Trumpet", "brass", 54, 82),
    ("French Horn", "brass", 41, 77),
    ("Brass Section", "brass", 40, 84),
    ("Synth Brass 1", "brass", 36, 84),
    ("Synth Brass 2", "brass", 36, 84),
    ("Soprano Sax", "reed", 56, 87),                        # 64
    ("Alto Sax", "reed", 49, 81),
    ("Tenor Sax", "reed", 44, 76),
    ("Baritone Sax", "reed", 36, 69),
    ("Oboe", "reed", 58, 91),
    ("English Horn", "reed", 52, 81),
    ("Bassoon", "reed", 34, 75),
    ("Clarinet", "reed", 50, 91),
    ("Piccolo", "flute", 74, 103),                          # 72
    ("Flute", "flute", 60, 96),
    ("Recorder", "flute", 65, 96),
    ("Pan Flute", "flute", 60, 96),
    ("Blown Bottle", "flute", 60, 84),
    ("Shakuhachi", "flute", 55, 86),
    ("Whistle", "flute", 72, 96),
    ("Ocarina", "flute", 60, 86),
    ("Lead 1 (square)", "synth_lead", 36, 96),              # 80
    ("Lead 2 (sawtooth)", "synth_lead", 36, 96),
    ("Lead 3 (calliope)", "synth_lead", 48, 96),
    ("Lead 4 (chiff)", "synth_lead", 48, 96),
    ("Lead 5 (charang)", "synth_lead", 40, 88),
    ("Lead 6 (voice)", "synth_lead", 48, 84),
    ("Lead 7 (fifths)", "synth_lead", 36, 84),
    ("Lead 8 (bass + lead)", "synth_lead", 28, 72),
    ("Pad 1 (new age)", None, 0, -1),                       # 88
    ("Pad 2 (warm)", None, 0, -1),
    ("Pad 3 (polysynth)", None, 0, -1),
    ("Pad 4 (choir)", None, 0, -1),
    ("Pad 5 (bowed)", None, 0, -1),
    ("Pad 6 (metallic)", None, 0, -1),
    ("Pad 7 (halo)", None, 0, -1),
    ("Pad 8 (sweep)", None, 0, -1),
    ("FX 1 (rain)", None, 0, -1),                           # 96
    ("FX 2 (soundtrack)", None, 0, -1),
    ("FX 3 (crystal)", None, 0, -1),
    ("FX 4 (atmosphere)", None, 0, -1),
    ("FX 5 (brightness)", None, 0, -1),
    ("FX 6 (goblins)", None, 0, -1),
    ("FX 7 (echoes)", None, 0, -1),
    ("FX 8 (sci-fi)", None, 0, -1),
    ("Sitar", "guitar", 48, 84),                            # 104
    ("Banjo", "guitar", 48, 84),
    ("Shamisen", "guitar", 50, 86),
    ("Koto", "guitar", 50, 86),
    ("Kalimba", "mallet", 60, 91),
    ("Bagpipe", "reed", 60, 81),
    ("Fiddle", "string", 55, 96),
    ("Shanai", "reed", 60, 86),
    ("Tinkle Bell", "mallet", 72, 96),                      # 112
    ("Agogo", None, 0, -1),
    ("Steel Drums", "mallet", 52, 84),
    ("Woodblock", None, 0, -1),
    ("Taiko Drum", None, 0, -1),
    ("Melodic Tom", None, 0, -1),
    ("Synth Drum", None, 0, -1),
    ("Reverse Cymbal", None, 0, -1),
    ("Guitar Fret Noise", None, 0, -1),                     # 120
    ("Breath Noise", None, 0, -1),
    ("Seashore", None, 0, -1),
    ("Bird Tweet", None, 0, -1),
    ("Telephone Ring", None, 0, -1),
    ("Helicopter", None, 0, -1),
    ("Applause", None, 0, -1),
    ("Gunshot", None, 0, -1),
)
# fmt: on


def family_of(program: int) -> str | None:
    """NSynth family of a 0-based GM program, or None if excluded."""
    return GM_PROGRAMS[program][1]


def programs_of(family: str) -> list[int]:
    """The GM programs mapped to ``family``."""
    if family not in FAMILIES:
        raise ValueError(
            f"Unknown family {family!r}; expected one of {FAMILIES}."
        )
    return [p for p, row in enumerate(GM_PROGRAMS) if row[1] == family]


def pitch_range(program: int) -> tuple[int, int]:
    """Inclusive (lowest, highest) MIDI pitch rendered for ``program``."""
    _, family, low, high = GM_PROGRAMS[program]
    if family is None:
        raise ValueError(f"GM program {program} is excluded.")
    return low, high


# --------------------------------------------------------------------------
# Soundfonts.


class SoundFontError(RuntimeError):
    """A soundfont is missing or unreadable."""


class FluidsynthNotFoundError(RuntimeError):
    """The fluidsynth binary is missing."""


@dataclasses.dataclass(frozen=True)
class SoundFontSpec:
    """A GM soundfont: where Debian installs it and what it derives from."""

    key: str
    path: str
    package: str
    lineage: str
    description: str = ""


SOUNDFONTS: dict[str, SoundFontSpec] = {
    s.key: s
    for s in (
        SoundFontSpec(
            "fluidr3_gm",
            "/usr/share/sounds/sf2/FluidR3_GM.sf2",
            "fluid-soundfont-gm",
            "fluid",
            "Fluid R3 GM (Frank Wen), recorded samples, stereo, 148 MB.",
        ),
        SoundFontSpec(
            "musescore_general",
            "/usr/share/sounds/sf3/MuseScore_General_Full.sf3",
            "musescore-general-soundfont",
            "fluid",
            "MuseScore_General HQ 0.2.1 (S. Christian Collins), derived "
            "from Fluid R3 Mono with replaced pianos/strings, Ogg sf3.",
        ),
        SoundFontSpec(
            "timgm6mb",
            "/usr/share/sounds/sf2/TimGM6mb.sf2",
            "timgm6mb-soundfont",
            "timgm",
            "TimGM6mb (Tim Brechbill) from MuseScore 1.3, 6 MB.",
        ),
        SoundFontSpec(
            "sf_gmbank",
            "/usr/share/sounds/sf2/sf_GMbank.sf2",
            "csound-soundfont",
            "timgm",
            "csound's public-domain 'GM GS Bank'; 329 samples identical "
            "to TimGM6mb's.",
        ),
    )
}
DEFAULT_SOUNDFONTS = tuple(SOUNDFONTS)
DEFAULT_TEST_SOUNDFONT = "timgm6mb"


def default_output_dir() -> Path:
    """``$XDG_CACHE_HOME/keras_attention/datasets/instruments``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(base) / "keras_attention" / "datasets" / "instruments"


def find_fluidsynth(binary: str | None = None) -> str:
    """Path of the fluidsynth binary, or a clear error naming the package."""
    found = shutil.which(binary or "fluidsynth")
    if found is None:
        raise FluidsynthNotFoundError(
            f"fluidsynth binary not found ({binary or 'fluidsynth'} is not "
            "on PATH); install it with `apt-get install fluidsynth`."
        )
    return found


@dataclasses.dataclass(frozen=True)
class SoundFontInfo:
    """What :func:`read_soundfont` learns from a soundfont's tables."""

    path: str
    name: str
    version: tuple[int, int]
    programs: frozenset[int]  # bank-0 presets
    # program -> {sample index: sample length}, bank-0 presets only.
    samples: dict[int, dict[int, int]]


def _bad(path: str, package: str | None, why: str) -> SoundFontError:
    fix = (
        f"; reinstall it with `apt-get install --reinstall {package}`"
        if package
        else ""
    )
    return SoundFontError(f"{path} is not a valid SoundFont: {why}{fix}.")


def read_soundfont(
    path: str | os.PathLike, package: str | None = None
) -> SoundFontInfo:
    """Parses a SoundFont 2/3 file's RIFF structure and preset tables.

    Raises :class:`SoundFontError` (naming ``package`` when given) if the
    file is missing or malformed. Only the small ``pdta`` chunk is read.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        where = (
            f"; install it with `apt-get install {package}`" if package else ""
        )
        raise SoundFontError(
            f"{os.path.basename(path)} not found at {path}{where}."
        )
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise _bad(path, package, "expected a RIFF 'sfbk' header")
        riff_end = min(size, 8 + struct.unpack("<I", head[4:8])[0])
        lists: dict[bytes, tuple[int, int]] = {}
        pos = 12
        while pos + 12 <= riff_end:
            f.seek(pos)
            tag, length = struct.unpack("<4sI", f.read(8))
            if tag == b"LIST":
                lists[f.read(4)] = (pos + 12, length - 4)
            pos += 8 + length + (length & 1)
        for needed in (b"INFO", b"sdta", b"pdta"):
            if needed not in lists:
                raise _bad(path, package, f"no {needed.decode()} list")
        start, length = lists[b"pdta"]
        if start + length > size:
            raise _bad(path, package, "file is truncated")
        f.seek(start)
        pdta = f.read(length)
        start, length = lists[b"INFO"]
        f.seek(start)
        info = f.read(min(length, 1 << 16))
    sub = _subchunks(pdta)
    sizes = {
        b"phdr": 38,
        b"pbag": 4,
        b"pgen": 4,
        b"inst": 22,
        b"ibag": 4,
        b"igen": 4,
        b"shdr": 46,
    }
    tables = {}
    for tag, rec in sizes.items():
        data = sub.get(tag)
        if data is None or len(data) % rec or len(data) < 2 * rec:
            raise _bad(path, package, f"bad or missing {tag.decode()} table")
        tables[tag] = data
    fields = _subchunks(info)
    name = fields.get(b"INAM", b"").split(b"\0")[0].decode("latin-1")
    ifil = fields.get(b"ifil", b"\0\0\0\0")
    version = struct.unpack("<HH", ifil[:4]) if len(ifil) >= 4 else (0, 0)
    try:
        samples = _preset_samples(tables)
    except (IndexError, struct.error) as e:
        raise _bad(path, package, f"inconsistent preset tables ({e})") from e
    return SoundFontInfo(
        path=path,
        name=name,
        version=tuple(version),
        programs=frozenset(samples),
        samples=samples,
    )


def _subchunks(data: bytes) -> dict[bytes, bytes]:
    out, pos = {}, 0
    while pos + 8 <= len(data):
        tag, length = struct.unpack("<4sI", data[pos : pos + 8])
        out[tag] = data[pos + 8 : pos + 8 + length]
        pos += 8 + length + (length & 1)
    return out


def _records(data: bytes, fmt: str) -> list[tuple]:
    return [r for r in struct.iter_unpack(fmt, data)]


def _preset_samples(tables: dict[bytes, bytes]) -> dict[int, dict[int, int]]:
    phdr = _records(tables[b"phdr"], "<20sHHHIII")
    pbag = _records(tables[b"pbag"], "<HH")
    pgen = _records(tables[b"pgen"], "<HH")
    inst = _records(tables[b"inst"], "<20sH")
    ibag = _records(tables[b"ibag"], "<HH")
    igen = _records(tables[b"igen"], "<HH")
    shdr = _records(tables[b"shdr"], "<20sIIIIIBbHH")
    instrument_gen, sample_gen = 41, 53

    def instrument_samples(i: int) -> set[int]:
        out = set()
        for bag in range(inst[i][1], inst[i + 1][1]):
            for gen in range(ibag[bag][0], ibag[bag + 1][0]):
                if igen[gen][0] == sample_gen:
                    out.add(igen[gen][1])
        return out

    result: dict[int, dict[int, int]] = {}
    for k in range(len(phdr) - 1):  # the last record is the terminal EOP
        _, program, bank, bag0, *_ = phdr[k]
        if bank != 0 or program > 127:
            continue
        used: dict[int, int] = {}
        for bag in range(bag0, phdr[k + 1][3]):
            for gen in range(pbag[bag][0], pbag[bag + 1][0]):
                if pgen[gen][0] == instrument_gen:
                    for s in instrument_samples(pgen[gen][1]):
                        start, end = shdr[s][1], shdr[s][2]
                        used[s] = max(1, end - start)
        result[program] = used
    return result


def resolve_soundfont(
    key: str, path: str | os.PathLike | None = None
) -> tuple[SoundFontSpec, SoundFontInfo]:
    """Looks a registered soundfont up and validates the file."""
    if key not in SOUNDFONTS:
        raise ValueError(
            f"Unknown soundfont {key!r}; expected one of {sorted(SOUNDFONTS)}."
        )
    spec = SOUNDFONTS[key]
    if path is not None:
        spec = dataclasses.replace(spec, path=os.fspath(path))
    return spec, read_soundfont(spec.path, spec.package)


# --------------------------------------------------------------------------
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
        t0 = _LEAD_IN_MS + k * _SLOT_MS - _PRE_ROLL_MS // 2
        events += [
            (t0, bytes([0xB0, 121, 0])),  # reset controllers
            (t0, bytes([0xB0, 0, 0])),  # bank 0
            (t0, bytes([0xB0, 32, 0])),
            (t0, bytes([0xC0, program])),
        ]
        for pitch, velocity in notes:
            on = _LEAD_IN_MS + k * _SLOT_MS
            events += [
                (on, bytes([0x90, pitch, velocity])),
                (on + int(NOTE_SECONDS * 1000), bytes([0x80, pitch, 0])),
                (on + _CUT_MS, bytes([0xB0, 120, 0])),  # all sound off
            ]
            k += 1
    return midi_file(events, _LEAD_IN_MS + k * _SLOT_MS), k


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
    window is mono float32 at 16 kHz, starting :data:`_PRE_ROLL_MS` before
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
        window = (_PRE_ROLL_MS + _CUT_MS) * per_ms * frame
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
                skip = (_LEAD_IN_MS - _PRE_ROLL_MS) * per_ms * frame
                _read_exactly(proc.stdout, skip)
                gap = (_SLOT_MS - _CUT_MS - _PRE_ROLL_MS) * per_ms * frame
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
    window = window[_PRE_ROLL_MS * SAMPLE_RATE // 2000 :]
    clip = np.zeros(n, np.float32)
    peak = float(np.max(np.abs(window))) if window.size else 0.0
    if peak <= 0.0:
        return clip, 0.0
    above = np.abs(window) > peak * 10 ** (-_ONSET_DB / 20)
    start = max(0, int(np.argmax(above)) - SAMPLE_RATE // 1000)
    piece = window[start : start + n]
    clip[: piece.size] = piece
    peak = float(np.max(np.abs(clip)))
    fade = int(_FADE_MS * SAMPLE_RATE / 1000)
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


# --------------------------------------------------------------------------
# Plan and splits.


@dataclasses.dataclass(frozen=True)
class Instrument:
    """One (soundfont, program) pair and the notes rendered from it."""

    soundfont: str
    lineage: str
    program: int
    split: str
    notes: tuple[tuple[int, int], ...]

    @property
    def family(self) -> str:
        return GM_PROGRAMS[self.program][1]

    @property
    def name(self) -> str:
        return f"{self.soundfont}/{self.program:03d}"


def sharing_groups(
    infos: Iterable[SoundFontInfo],
    programs: Iterable[int],
    threshold: float = SHARING_THRESHOLD,
) -> list[tuple[int, ...]]:
    """Groups programs that share recordings in any of ``infos``.

    Two programs are linked when their shared samples make up at least
    ``threshold`` of the smaller program's sample data; groups are the
    connected components, sorted.
    """
    programs = sorted(set(programs))
    parent = {p: p for p in programs}

    def root(p: int) -> int:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for info in infos:
        have = [p for p in programs if info.samples.get(p)]
        for i, a in enumerate(have):
            sa = info.samples[a]
            for b in have[i + 1 :]:
                sb = info.samples[b]
                shared = sa.keys() & sb.keys()
                if not shared:
                    continue
                weight = sum(sa[s] for s in shared)
                smaller = min(sum(sa.values()), sum(sb.values()))
                if weight >= threshold * smaller:
                    parent[root(a)] = root(b)
    groups: dict[int, list[int]] = defaultdict(list)
    for p in programs:
        groups[root(p)].append(p)
    return sorted(tuple(g) for g in groups.values())


def assign_splits(
    groups: dict[str, list[tuple[int, ...]]],
    seed: int,
    test_fraction: float = 0.15,
    valid_fraction: float = 0.10,
) -> dict[tuple[str, int], str]:
    """Assigns (lineage, program) pairs of training lineages to splits.

    ``groups`` maps each training lineage to its sharing groups. Whole
    groups move to ``test_instrument`` and then ``valid``; see the module
    docstring for the rule.
    """
    rng = random.Random(f"instrument-splits:{seed}")
    units = [
        (lineage, group)
        for lineage in sorted(groups)
        for group in groups[lineage]
    ]
    split_of = {unit: "train" for unit in units}

    def families(unit) -> Counter:
        return Counter(family_of(p) for p in unit[1])

    total = Counter()
    for unit in units:
        total.update(families(unit))
    for split, fraction, keep in (
        ("test_instrument", test_fraction, 1),
        ("valid", valid_fraction, 2),
    ):
        if fraction <= 0:
            continue
        n_units = Counter()
        for unit in units:
            n_units.update(set(families(unit)))
        for family in sorted(total, key=lambda f: (n_units[f], f)):
            target = max(1, round(fraction * total[family]))
            while True:
                counts = Counter()
                for unit, s in split_of.items():
                    counts[s, family] += families(unit)[family]
                if counts[split, family] >= target:
                    break
                train = Counter()
                for unit, s in split_of.items():
                    if s == "train":
                        train.update(families(unit))
                candidates = [
                    unit
                    for unit, s in split_of.items()
                    if s == "train"
                    and family in families(unit)
                    and all(
                        train[f] - c >= keep for f, c in families(unit).items()
                    )
                ]
                if not candidates:
                    break

                def cost(unit):
                    return (len(families(unit)) > 1, len(unit[1]))

                best = min(cost(u) for u in candidates)
                choice = rng.choice([u for u in candidates if cost(u) == best])
                split_of[choice] = split
    return {
        (lineage, program): split
        for (lineage, group), split in split_of.items()
        for program in group
    }


def plan_notes(
    program: int,
    velocities_per_pitch: int,
    seed: int,
    soundfont: str,
    max_pitches: int | None = None,
) -> tuple[tuple[int, int], ...]:
    """(pitch, velocity) pairs: each semitone of the program's range with
    ``velocities_per_pitch`` distinct velocities from NSynth's set (seeded
    per soundfont and program). ``max_pitches`` keeps evenly spaced pitches.
    """
    if not 1 <= velocities_per_pitch <= len(NSYNTH_VELOCITIES):
        raise ValueError(
            "Expected `velocities_per_pitch` in [1, "
            f"{len(NSYNTH_VELOCITIES)}]. Received: {velocities_per_pitch}"
        )
    low, high = pitch_range(program)
    pitches = list(range(low, high + 1))
    if max_pitches is not None and max_pitches < len(pitches):
        idx = np.linspace(0, len(pitches) - 1, max_pitches).round()
        pitches = [pitches[int(i)] for i in dict.fromkeys(idx)]
    rng = random.Random(f"notes:{seed}:{soundfont}:{program}")
    notes = []
    for pitch in pitches:
        velocities = rng.sample(NSYNTH_VELOCITIES, velocities_per_pitch)
        notes += [(pitch, v) for v in sorted(velocities)]
    return tuple(notes)


@dataclasses.dataclass
class BuildConfig:
    """Everything that determines the dataset's contents."""

    soundfonts: tuple[str, ...] = DEFAULT_SOUNDFONTS
    test_soundfonts: tuple[str, ...] = (DEFAULT_TEST_SOUNDFONT,)
    soundfont_paths: dict[str, str] = dataclasses.field(default_factory=dict)
    seed: int = 0
    velocities_per_pitch: int = 3
    test_soundfont_velocities: int = 1
    test_fraction: float = 0.15
    valid_fraction: float = 0.10
    programs: tuple[int, ...] | None = None
    max_pitches: int | None = None
    # Soundfonts treated as their own lineage (e.g. one file used twice).
    lineages: dict[str, str] = dataclasses.field(default_factory=dict)


def make_plan(
    config: BuildConfig,
) -> tuple[list[Instrument], dict[str, dict], dict[str, list]]:
    """Validates the soundfonts and decides every instrument's notes/split.

    Returns (instruments, soundfont records for the manifest, sharing
    groups per training lineage).
    """
    if not config.soundfonts:
        raise ValueError("Expected at least one soundfont.")
    unknown = set(config.test_soundfonts) - set(config.soundfonts)
    if unknown:
        raise ValueError(
            f"Held-out soundfonts {sorted(unknown)} are not among the "
            f"soundfonts being built {list(config.soundfonts)}."
        )
    programs = (
        [p for p in range(128) if family_of(p) is not None]
        if config.programs is None
        else sorted(set(config.programs))
    )
    excluded = [p for p in programs if family_of(p) is None]
    if excluded:
        raise ValueError(f"GM programs {excluded} map to no family.")
    infos: dict[str, SoundFontInfo] = {}
    specs: dict[str, SoundFontSpec] = {}
    for key in config.soundfonts:
        base = config.lineages.get(key)
        registry_key = key if key in SOUNDFONTS else None
        if registry_key is None:
            if key not in config.soundfont_paths:
                raise ValueError(
                    f"Unknown soundfont {key!r}; expected one of "
                    f"{sorted(SOUNDFONTS)} or a path for it."
                )
            spec = SoundFontSpec(
                key, config.soundfont_paths[key], "", base or key
            )
            info = read_soundfont(spec.path)
        else:
            spec, info = resolve_soundfont(key, config.soundfont_paths.get(key))
            if base:
                spec = dataclasses.replace(spec, lineage=base)
        specs[key], infos[key] = spec, info
    test_lineages = {specs[k].lineage for k in config.test_soundfonts}
    train_lineages = sorted({s.lineage for s in specs.values()} - test_lineages)
    if not train_lineages:
        raise ValueError(
            "Every soundfont belongs to a held-out lineage "
            f"{sorted(test_lineages)}; nothing is left to train on."
        )
    groups = {
        lineage: sharing_groups(
            [infos[k] for k in specs if specs[k].lineage == lineage],
            programs,
        )
        for lineage in train_lineages
    }
    split_of = assign_splits(
        groups, config.seed, config.test_fraction, config.valid_fraction
    )
    instruments = []
    for key in config.soundfonts:
        spec, info = specs[key], infos[key]
        held_out = spec.lineage in test_lineages
        for program in programs:
            if program not in info.programs:
                continue
            split = (
                "test_soundfont"
                if held_out
                else split_of[spec.lineage, program]
            )
            velocities = (
                config.test_soundfont_velocities
                if held_out
                else config.velocities_per_pitch
            )
            notes = plan_notes(
                program, velocities, config.seed, key, config.max_pitches
            )
            instruments.append(
                Instrument(key, spec.lineage, program, split, notes)
            )
    records = {
        key: {
            "path": specs[key].path,
            "bytes": os.path.getsize(specs[key].path),
            "package": specs[key].package,
            "lineage": specs[key].lineage,
            "name": infos[key].name,
            "missing_programs": sorted(set(programs) - infos[key].programs),
        }
        for key in config.soundfonts
    }
    return instruments, records, groups


# --------------------------------------------------------------------------
# Building.


def _clip_name(instrument: Instrument, pitch: int, velocity: int) -> str:
    return (
        f"{instrument.family}_{instrument.soundfont}_p{instrument.program:03d}"
        f"_n{pitch:03d}_v{velocity:03d}.wav"
    )


def _render_task(args) -> tuple[list[dict], dict]:
    """Renders some instruments of one soundfont into ``root``."""
    path, instruments, root, fluidsynth = args
    rows, stats = [], Counter()
    raw_peak = 0.0
    windows = render_notes(
        path, [(i.program, i.notes) for i in instruments], fluidsynth, root
    )
    for instrument in instruments:
        clips = []
        for pitch, velocity in instrument.notes:
            clip, peak = trim_note(next(windows))
            raw_peak = max(raw_peak, peak)
            clips.append((pitch, velocity, clip, peak))
        loudest = max((c[3] for c in clips), default=0.0)
        if loudest < SILENCE_PEAK:
            stats["silent_instruments"] += 1
            stats["dropped_silent"] += len(clips)
            continue
        gain = TARGET_PEAK / loudest
        floor = max(SILENCE_PEAK, loudest * 10 ** (-QUIET_DB / 20))
        folder = os.path.join(root, "audio", instrument.split)
        for pitch, velocity, clip, peak in clips:
            if peak < floor:
                stats["dropped_silent"] += 1
                continue
            name = _clip_name(instrument, pitch, velocity)
            write_wav(os.path.join(folder, name), clip * gain, SAMPLE_RATE)
            rows.append(
                {
                    "filename": f"audio/{instrument.split}/{name}",
                    "split": instrument.split,
                    "family": instrument.family,
                    "family_id": FAMILIES.index(instrument.family),
                    "soundfont": instrument.soundfont,
                    "program": instrument.program,
                    "program_name": GM_PROGRAMS[instrument.program][0],
                    "pitch": pitch,
                    "velocity": velocity,
                    "lineage": instrument.lineage,
                    "instrument": instrument.name,
                }
            )
    for _ in windows:  # drain (nothing should be left)
        pass
    stats["max_raw_peak"] = raw_peak
    return rows, dict(stats)


def _tasks(
    instruments: list[Instrument], notes_per_task: int
) -> list[list[Instrument]]:
    """Chunks each soundfont's instruments so one fluidsynth load renders
    about ``notes_per_task`` notes; biggest tasks first."""
    tasks = []
    by_font: dict[str, list[Instrument]] = defaultdict(list)
    for instrument in instruments:
        by_font[instrument.soundfont].append(instrument)
    for font in by_font:
        current, count = [], 0
        for instrument in by_font[font]:
            current.append(instrument)
            count += len(instrument.notes)
            if count >= notes_per_task:
                tasks.append(current)
                current, count = [], 0
        if current:
            tasks.append(current)
    tasks.sort(key=lambda t: -sum(len(i.notes) for i in t))
    return tasks


def config_dict(config: BuildConfig, records: dict[str, dict]) -> dict:
    """The JSON form of a configuration, as stored in ``COMPLETE``."""
    out = dataclasses.asdict(config)
    out["soundfonts"] = list(config.soundfonts)
    out["test_soundfonts"] = list(config.test_soundfonts)
    out["programs"] = None if config.programs is None else list(config.programs)
    out["soundfont_files"] = {
        k: {"path": r["path"], "bytes": r["bytes"]} for k, r in records.items()
    }
    out["format_version"] = FORMAT_VERSION
    out["sample_rate"] = SAMPLE_RATE
    out["clip_seconds"] = CLIP_SECONDS
    return json.loads(json.dumps(out, sort_keys=True))


def count_table(rows: Iterable[dict], key: str = "family") -> dict:
    """{split: {key value: clip count}} over metadata rows."""
    table: dict[str, Counter] = {s: Counter() for s in SPLITS}
    for row in rows:
        table[row["split"]][row[key]] += 1
    return {s: dict(sorted(c.items())) for s, c in table.items()}


def planned_counts(instruments: Iterable[Instrument]) -> dict:
    """Clip counts per split and family before silent clips are dropped."""
    rows = (
        {"split": i.split, "family": i.family}
        for i in instruments
        for _ in i.notes
    )
    return count_table(rows)


def build_dataset(
    out: str | os.PathLike,
    config: BuildConfig,
    workers: int = 2,
    fluidsynth: str | None = None,
    notes_per_task: int = 1000,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Renders the dataset into ``out``; returns the manifest.

    A no-op when ``out`` already holds a complete build of the same
    configuration. Another complete build there is replaced only with
    ``force``. The build happens in a temporary sibling directory that is
    renamed to ``out`` after ``COMPLETE`` is written, so an interrupted
    build never leaves a dataset at ``out``.
    """
    log = log or (lambda message: print(message, file=sys.stderr))
    out = Path(out).expanduser().resolve()
    instruments, records, groups = make_plan(config)
    wanted = config_dict(config, records)
    marker = out / "COMPLETE"
    if marker.is_file():
        manifest = json.loads(marker.read_text())
        if manifest.get("config") == wanted:
            log(f"{out} is already complete; nothing to do.")
            return manifest
        if not force:
            raise FileExistsError(
                f"{out} holds a dataset built with another configuration; "
                "pass force=True (--force) to replace it."
            )
    elif out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(
            f"{out} exists, is not empty and is not a finished dataset; "
            "remove it or pass force=True (--force)."
        )
    binary = find_fluidsynth(fluidsynth)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(out, log)
    started = time.time()
    # Staged in `.tmp-<name>-*` beside `out`, synced, then renamed to `out`
    # (an older build moved aside and removed); a failure removes it.
    with atomic.atomic_dir(out) as tmp:
        (tmp / "BUILDING").write_text(
            json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
        )
        for split in SPLITS:
            (tmp / "audio" / split).mkdir(parents=True)
        tasks = _tasks(instruments, notes_per_task)
        total_notes = sum(len(i.notes) for i in instruments)
        log(
            f"Rendering {total_notes} notes of {len(instruments)} instruments "
            f"in {len(tasks)} tasks with {workers} worker(s) into {tmp}"
        )
        jobs = [(records[t[0].soundfont]["path"], t, str(tmp), binary)
                for t in tasks]  # fmt: skip
        rows, stats = [], Counter()
        max_raw_peak = 0.0
        done_notes = 0

        def collect(result, task):
            nonlocal max_raw_peak, done_notes
            task_rows, task_stats = result
            rows.extend(task_rows)
            max_raw_peak = max(max_raw_peak, task_stats.pop("max_raw_peak"))
            stats.update(task_stats)
            done_notes += sum(len(i.notes) for i in task)
            elapsed = time.time() - started
            eta = elapsed / done_notes * (total_notes - done_notes)
            log(
                f"  {done_notes}/{total_notes} notes, {elapsed:.0f} s "
                f"elapsed, ~{eta:.0f} s left ({task[0].soundfont})"
            )

        if workers <= 1:
            for job in jobs:
                collect(_render_task(job), job[1])
        else:
            context = multiprocessing.get_context()
            with context.Pool(workers, initializer=_worker_init) as pool:
                results = pool.imap(_render_task, jobs)
                for job, result in zip(jobs, results, strict=True):
                    collect(result, job[1])
        if not rows:
            raise SoundFontError(
                "fluidsynth rendered only silence; are the soundfonts valid?"
            )
        silent_fonts = sorted(
            set(config.soundfonts) - {r["soundfont"] for r in rows}
        )
        if silent_fonts:
            raise SoundFontError(
                f"fluidsynth rendered only silence from {silent_fonts}; are "
                "these valid SoundFont files?"
            )
        rows.sort(key=lambda r: r["filename"])
        with open(tmp / "metadata.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=METADATA_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        (tmp / "classes.json").write_text(json.dumps(classes_json(), indent=1))
        manifest = {
            "config": wanted,
            "clips": len(rows),
            "counts": count_table(rows),
            "counts_by_soundfont": count_table(rows, "soundfont"),
            "instruments": {
                s: sorted({r["instrument"] for r in rows if r["split"] == s})
                for s in SPLITS
            },
            "sharing_groups": {
                lineage: [list(g) for g in gs if len(g) > 1]
                for lineage, gs in groups.items()
            },
            "soundfonts": records,
            "dropped_clips": stats.get("dropped_silent", 0),
            "silent_instruments": stats.get("silent_instruments", 0),
            "max_raw_peak": max_raw_peak,
            "build_seconds": round(time.time() - started, 1),
            "metadata_sha256": hashlib.sha256(
                (tmp / "metadata.csv").read_bytes()
            ).hexdigest(),
        }
        (tmp / "BUILDING").unlink()
        (tmp / "COMPLETE").write_text(json.dumps(manifest, indent=1))
    log(f"Wrote {len(rows)} clips to {out} in {manifest['build_seconds']} s")
    return manifest


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group: let the parent handle it (it
    # terminates the pool and removes the temporary directory).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _remove_stale_builds(out: Path, log: Callable[[str], None]) -> None:
    """Removes temporary directories of builds of ``out`` that were killed
    (their ``BUILDING`` file names a process of this host that is gone)."""
    for tmp in out.parent.glob(f"{atomic.TEMP_PREFIX}{out.name}-*"):
        try:
            owner = json.loads((tmp / "BUILDING").read_text())
            if owner["host"] != socket.gethostname():
                continue
            os.kill(owner["pid"], 0)
        except ProcessLookupError:
            log(f"Removing {tmp}, left by an interrupted build.")
            shutil.rmtree(tmp, ignore_errors=True)
        except (OSError, ValueError, KeyError, TypeError):
            continue


def classes_json() -> dict:
    """Class names (index = family_id) and the GM program table."""
    return {
        "families": list(FAMILIES),
        "sample_rate": SAMPLE_RATE,
        "clip_seconds": CLIP_SECONDS,
        "gm_programs": [
            {
                "program": p,
                "name": name,
                "family": family,
                "family_id": None if family is None else FAMILIES.index(family),
                "pitch_range": None if family is None else [low, high],
            }
            for p, (name, family, low, high) in enumerate(GM_PROGRAMS)
        ],
    }


def read_metadata(root: str | os.PathLike) -> list[dict]:
    """Rows of a finished dataset's ``metadata.csv`` (ints converted)."""
    root = Path(root)
    if not (root / "COMPLETE").is_file():
        raise FileNotFoundError(f"{root} is not a finished dataset.")
    with open(root / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key in ("family_id", "program", "pitch", "velocity"):
            row[key] = int(row[key])
    return rows


# --------------------------------------------------------------------------
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
    fade = int(_FADE_MS * SAMPLE_RATE / 1000)
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
