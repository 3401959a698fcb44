"""The build plan: instruments (soundfont x program), sharing groups,
splits by held-out lineage and (lineage, program) groups, and the notes
of every instrument."""

from __future__ import annotations

import dataclasses
import os
import random
from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np

from training.instruments.gm import (
    GM_PROGRAMS,
    NSYNTH_VELOCITIES,
    SHARING_THRESHOLD,
    family_of,
    pitch_range,
)
from training.instruments.sf2 import (
    DEFAULT_SOUNDFONTS,
    DEFAULT_TEST_SOUNDFONT,
    SOUNDFONTS,
    SoundFontInfo,
    SoundFontSpec,
    read_soundfont,
    resolve_soundfont,
)

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
