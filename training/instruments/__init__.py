"""NSynth-style instrument-family dataset rendered from sampled GM
soundfonts with `fluidsynth` (the dataset is described in
docs/guides/instrument-dataset.md), one module per concern: `gm` (tables),
`sf2` (soundfonts), `midi`, `render`, `splits`, `build` and `demo_clips`.
Build it with `python -m training.build_instrument_dataset`.
"""

from training.instruments.build import (
    build_dataset,
    classes_json,
    config_dict,
    count_table,
    planned_counts,
    read_metadata,
)
from training.instruments.demo_clips import (
    DEMO_PROGRAMS,
    write_demo_clips,
)
from training.instruments.gm import (
    CLIP_SECONDS,
    FAMILIES,
    FORMAT_VERSION,
    GM_PROGRAMS,
    METADATA_COLUMNS,
    NOTE_SECONDS,
    NSYNTH_VELOCITIES,
    QUIET_DB,
    RENDER_RATE,
    SAMPLE_RATE,
    SHARING_THRESHOLD,
    SILENCE_PEAK,
    SPLITS,
    TARGET_PEAK,
    family_of,
    pitch_range,
    programs_of,
)
from training.instruments.midi import (
    midi_file,
)
from training.instruments.render import (
    read_wav,
    render_notes,
    trim_note,
    write_wav,
)
from training.instruments.sf2 import (
    DEFAULT_SOUNDFONTS,
    DEFAULT_TEST_SOUNDFONT,
    SOUNDFONTS,
    FluidsynthNotFoundError,
    SoundFontError,
    SoundFontInfo,
    SoundFontSpec,
    default_output_dir,
    find_fluidsynth,
    read_soundfont,
    resolve_soundfont,
)
from training.instruments.splits import (
    BuildConfig,
    Instrument,
    assign_splits,
    make_plan,
    plan_notes,
    sharing_groups,
)

__all__ = [
    "assign_splits",
    "build_dataset",
    "BuildConfig",
    "classes_json",
    "CLIP_SECONDS",
    "config_dict",
    "count_table",
    "default_output_dir",
    "DEFAULT_SOUNDFONTS",
    "DEFAULT_TEST_SOUNDFONT",
    "DEMO_PROGRAMS",
    "FAMILIES",
    "family_of",
    "find_fluidsynth",
    "FluidsynthNotFoundError",
    "FORMAT_VERSION",
    "GM_PROGRAMS",
    "Instrument",
    "make_plan",
    "METADATA_COLUMNS",
    "midi_file",
    "NOTE_SECONDS",
    "NSYNTH_VELOCITIES",
    "pitch_range",
    "plan_notes",
    "planned_counts",
    "programs_of",
    "QUIET_DB",
    "read_metadata",
    "read_soundfont",
    "read_wav",
    "render_notes",
    "RENDER_RATE",
    "resolve_soundfont",
    "SAMPLE_RATE",
    "sharing_groups",
    "SHARING_THRESHOLD",
    "SILENCE_PEAK",
    "SoundFontError",
    "SoundFontInfo",
    "SOUNDFONTS",
    "SoundFontSpec",
    "SPLITS",
    "TARGET_PEAK",
    "trim_note",
    "write_demo_clips",
    "write_wav",
]
