"""The dataset's tables: sample rates and clip timing, the NSynth
families, the metadata columns and the General MIDI program table
(`GM_PROGRAMS`: name, family, playable range)."""

from __future__ import annotations

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

# Render timeline shared by midi, render and demo_clips (milliseconds; the
# MIDI file runs at 1 tick = 1 ms).
LEAD_IN_MS = 300
PRE_ROLL_MS = 100  # each window starts this long before its note-on
SLOT_MS = 4400  # note-on to note-on
CUT_MS = 4300  # "all sound off" after note-on; the window ends here
FADE_MS = 50
ONSET_DB = 50.0  # onset = first sample within this of the window peak

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
