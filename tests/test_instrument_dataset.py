"""Tests for training/instruments/ (the soundfont instrument dataset).

The rendering tests build a tiny dataset from TimGM6mb (6 MB), used under
two names so that one of them can play the held-out soundfont. They skip
only when the fluidsynth binary or the soundfont file is absent; CI
installs both (.ci/apt-packages.txt).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers.system import require

from training import instruments as ins

TIM = ins.SOUNDFONTS["timgm6mb"].path
# Keyboard has four programs in four sharing groups except 0 and 1, which
# share samples in TimGM6mb and so must land in the same split.
PROGRAMS = (0, 1, 4, 5, 6, 26, 31, 32, 33, 73, 77)


def tiny_config(seed: int = 0, **overrides) -> ins.BuildConfig:
    kwargs = dict(
        soundfonts=("tim_a", "tim_b"),
        test_soundfonts=("tim_b",),
        soundfont_paths={"tim_a": TIM, "tim_b": TIM},
        seed=seed,
        programs=PROGRAMS,
        max_pitches=2,
        velocities_per_pitch=1,
        test_soundfont_velocities=1,
    )
    kwargs.update(overrides)
    return ins.BuildConfig(**kwargs)


def need_timgm6mb() -> None:
    require(
        os.path.isfile(TIM),
        "TimGM6mb soundfont: apt-get install timgm6mb-soundfont",
    )


def need_renderer() -> None:
    require(
        shutil.which("fluidsynth") is not None,
        "fluidsynth: apt-get install fluidsynth",
    )
    need_timgm6mb()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tiny dataset built twice with the same seed, in two places."""
    need_renderer()
    root = tmp_path_factory.mktemp("instruments")
    quiet = {"log": lambda message: None, "workers": 1}
    a = ins.build_dataset(root / "a", tiny_config(), **quiet)
    b = ins.build_dataset(root / "b", tiny_config(), **quiet)
    return root, a, b


# -- mapping ---------------------------------------------------------------


def test_mapping_covers_every_gm_program():
    assert len(ins.GM_PROGRAMS) == 128
    names = [row[0] for row in ins.GM_PROGRAMS]
    assert len(set(names)) == 128
    mapped = [p for p in range(128) if ins.family_of(p) is not None]
    excluded = [p for p in range(128) if ins.family_of(p) is None]
    assert len(mapped) + len(excluded) == 128
    assert set(range(88, 104)) <= set(excluded)  # pads and synth effects
    assert set(range(120, 128)) <= set(excluded)  # sound effects
    for program in mapped:
        assert ins.family_of(program) in ins.FAMILIES
        low, high = ins.pitch_range(program)
        assert 0 <= low < high <= 127, program
    for program in excluded:
        with pytest.raises(ValueError):
            ins.pitch_range(program)
    covered = sorted(p for f in ins.FAMILIES for p in ins.programs_of(f))
    assert covered == mapped
    assert all(ins.programs_of(f) for f in ins.FAMILIES)


def test_mapping_spot_checks():
    assert ins.family_of(0) == "keyboard"  # acoustic grand piano
    assert ins.family_of(12) == "mallet"  # marimba
    assert ins.family_of(19) == "organ"
    assert ins.family_of(24) == "guitar"
    assert ins.family_of(33) == "bass"
    assert ins.family_of(40) == "string"
    assert ins.family_of(52) == "vocal"
    assert ins.family_of(56) == "brass"
    assert ins.family_of(65) == "reed"
    assert ins.family_of(73) == "flute"
    assert ins.family_of(80) == "synth_lead"
    assert ins.family_of(47) is None  # timpani
    assert ins.pitch_range(32)[1] < ins.pitch_range(72)[0]  # bass < piccolo
    classes = ins.classes_json()
    assert classes["families"] == list(ins.FAMILIES)
    for row in classes["gm_programs"]:
        if row["family"] is not None:
            assert classes["families"][row["family_id"]] == row["family"]


def test_unknown_family_raises():
    with pytest.raises(ValueError, match="Unknown family"):
        ins.programs_of("percussion")


# -- notes, MIDI, splits (no rendering) -------------------------------------


def test_plan_notes_is_seeded_and_in_range():
    notes = ins.plan_notes(73, 3, seed=1, soundfont="x")
    low, high = ins.pitch_range(73)
    assert {p for p, _ in notes} == set(range(low, high + 1))
    assert len(notes) == 3 * (high - low + 1)
    assert {v for _, v in notes} <= set(ins.NSYNTH_VELOCITIES)
    assert notes == ins.plan_notes(73, 3, seed=1, soundfont="x")
    assert notes != ins.plan_notes(73, 3, seed=2, soundfont="x")
    few = ins.plan_notes(73, 1, seed=1, soundfont="x", max_pitches=3)
    assert [p for p, _ in few] == [low, (low + high) // 2, high]
    with pytest.raises(ValueError, match="velocities_per_pitch"):
        ins.plan_notes(73, 0, seed=1, soundfont="x")


def test_midi_file_encoding():
    assert ins.midi._vlq(0) == b"\x00"
    assert ins.midi._vlq(0x7F) == b"\x7f"
    assert ins.midi._vlq(0x80) == b"\x81\x00"
    assert ins.midi._vlq(0x3FFF) == b"\xff\x7f"
    assert ins.midi._vlq(0x4000) == b"\x81\x80\x00"
    data = ins.midi_file([(200, b"\x80\x3c\x00"), (0, b"\x90\x3c\x64")], 300)
    assert data[:14] == b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x03\xe8"
    assert data[14:18] == b"MTrk"
    length = int.from_bytes(data[18:22], "big")
    track = data[22:]
    assert len(track) == length
    # tempo 1 s per quarter, note on at 0, note off 200 ticks later (1 ms
    # each), end of track 100 ticks after that.
    assert track == (
        b"\x00\xff\x51\x03\x0f\x42\x40"
        b"\x00\x90\x3c\x64"
        b"\x81\x48\x80\x3c\x00"
        b"\x64\xff\x2f\x00"
    )


def fake_info(samples: dict[int, dict[int, int]]) -> ins.SoundFontInfo:
    return ins.SoundFontInfo("x.sf2", "x", (2, 1), frozenset(samples), samples)


def test_sharing_groups_follow_shared_sample_data():
    info = fake_info(
        {
            0: {1: 100, 2: 100},
            1: {1: 100, 3: 100},  # half of its data is program 0's
            24: {4: 10, 7: 90},
            25: {4: 10, 5: 990},  # shares a tenth of 24's data: apart
            40: {6: 50},
        }
    )
    groups = ins.sharing_groups([info], [0, 1, 24, 25, 40])
    assert groups == [(0, 1), (24,), (25,), (40,)]
    other = fake_info({24: {7: 10}, 40: {7: 10}})
    assert (24, 40) in ins.sharing_groups([info, other], [0, 1, 24, 25, 40])


def test_assign_splits_moves_whole_groups_and_keeps_training_data():
    # One group per program, except the pianos 0, 1 and 3, which share
    # samples; vocal lacks program 53, leaving it two groups.
    programs = [p for p in range(128) if ins.family_of(p) and p != 53]
    groups = [(p,) for p in programs if p not in (0, 1, 3)] + [(0, 1, 3)]
    split_of = ins.assign_splits({"fluid": groups}, seed=3)
    assert split_of == ins.assign_splits({"fluid": groups}, seed=3)
    for group in groups:
        assert len({split_of["fluid", p] for p in group}) == 1
    for family in ins.FAMILIES:
        progs = [p for p in ins.programs_of(family) if ("fluid", p) in split_of]
        splits = [split_of["fluid", p] for p in progs]
        assert "train" in splits, family
        if len(progs) >= 2:
            assert "test_instrument" in splits, family
        if "valid" in splits:
            assert splits.count("train") >= 2, family
    seeds = {
        tuple(sorted(ins.assign_splits({"fluid": groups}, seed=s).items()))
        for s in range(5)
    }
    assert len(seeds) > 1


# -- errors -----------------------------------------------------------------


def test_missing_soundfont_names_the_package(tmp_path):
    missing = tmp_path / "TimGM6mb.sf2"
    with pytest.raises(ins.SoundFontError) as e:
        ins.resolve_soundfont("timgm6mb", missing)
    assert str(missing) in str(e.value)
    assert "apt-get install timgm6mb-soundfont" in str(e.value)
    config = ins.BuildConfig(
        soundfonts=("fluidr3_gm", "timgm6mb"),
        soundfont_paths={"fluidr3_gm": str(tmp_path / "FluidR3_GM.sf2")},
    )
    with pytest.raises(ins.SoundFontError, match="fluid-soundfont-gm"):
        ins.build_dataset(tmp_path / "out", config, log=lambda m: None)
    assert not (tmp_path / "out").exists()


def test_corrupt_soundfont_is_rejected_without_leftovers(tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(np.random.default_rng(0).bytes(50_000))
    with pytest.raises(ins.SoundFontError, match="not a valid SoundFont"):
        ins.read_soundfont(bad, "timgm6mb-soundfont")
    riff = tmp_path / "riff.sf2"  # right header, garbage after it
    riff.write_bytes(b"RIFF\x00\x10\x00\x00sfbk" + bytes(200))
    with pytest.raises(ins.SoundFontError, match="not a valid SoundFont"):
        ins.read_soundfont(riff)
    out = tmp_path / "out"
    config = ins.BuildConfig(
        soundfonts=("timgm6mb", "sf_gmbank"),
        soundfont_paths={"timgm6mb": str(bad), "sf_gmbank": str(riff)},
    )
    with pytest.raises(ins.SoundFontError, match="timgm6mb-soundfont"):
        ins.build_dataset(out, config, log=lambda m: None)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.sf2", "riff.sf2"]


def test_truncated_soundfont_is_rejected(tmp_path):
    need_timgm6mb()
    cut = tmp_path / "cut.sf2"
    with open(TIM, "rb") as f:
        cut.write_bytes(f.read(1_000_000))
    with pytest.raises(ins.SoundFontError, match="not a valid SoundFont"):
        ins.read_soundfont(cut)


def test_missing_fluidsynth_names_the_package(tmp_path):
    with pytest.raises(ins.FluidsynthNotFoundError) as e:
        ins.find_fluidsynth(str(tmp_path / "no-such-fluidsynth"))
    assert "apt-get install fluidsynth" in str(e.value)


def test_failed_build_leaves_no_dataset(tmp_path, monkeypatch):
    need_renderer()

    def broken(job):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(ins.build, "_render_task", broken)
    with pytest.raises(RuntimeError, match="interrupted"):
        ins.build_dataset(
            tmp_path / "out", tiny_config(), workers=1, log=lambda m: None
        )
    assert list(tmp_path.iterdir()) == []


def test_soundfont_tables_are_read():
    need_timgm6mb()
    info = ins.read_soundfont(TIM)
    assert info.programs == frozenset(range(128))
    assert info.version[0] == 2
    assert all(info.samples[p] for p in (0, 40, 73))


# -- the tiny build ---------------------------------------------------------


def test_tiny_build_labels_and_layout(built):
    root, manifest, _ = built
    rows = ins.read_metadata(root / "a")
    assert rows and len(rows) == manifest["clips"]
    with open(root / "a" / "metadata.csv", newline="") as f:
        header = next(csv.reader(f))
    assert tuple(header) == ins.METADATA_COLUMNS
    for row in rows:
        program = row["program"]
        assert row["family"] == ins.family_of(program)
        assert row["family_id"] == ins.FAMILIES.index(row["family"])
        assert row["program_name"] == ins.GM_PROGRAMS[program][0]
        assert row["filename"].startswith(f"audio/{row['split']}/")
        low, high = ins.pitch_range(program)
        assert low <= row["pitch"] <= high
        assert row["velocity"] in ins.NSYNTH_VELOCITIES
    planned = 2 * len(PROGRAMS) * 2  # soundfonts x programs x pitches
    assert len(rows) + manifest["dropped_clips"] == planned
    assert len(rows) >= planned - 4
    assert sorted(os.listdir(root / "a")) == [
        "COMPLETE",
        "audio",
        "classes.json",
        "metadata.csv",
    ]
    assert sorted(os.listdir(root / "a" / "audio")) == sorted(ins.SPLITS)
    classes = json.loads((root / "a" / "classes.json").read_text())
    assert classes["families"] == list(ins.FAMILIES)
    complete = json.loads((root / "a" / "COMPLETE").read_text())
    assert complete["counts"] == ins.count_table(rows)
    assert sum(map(sum, (c.values() for c in complete["counts"].values())))


def test_tiny_build_audio(built):
    root, _, _ = built
    rows = ins.read_metadata(root / "a")
    for row in rows:
        audio, rate = ins.read_wav(root / "a" / row["filename"])
        assert rate == ins.SAMPLE_RATE
        assert audio.shape == (int(ins.CLIP_SECONDS * ins.SAMPLE_RATE),)
        peak = np.max(np.abs(audio))
        assert 1e-3 < peak <= ins.TARGET_PEAK + 1e-4
        assert np.max(np.abs(audio[-8:])) < 1e-3  # faded out
        # The note starts within a few ms of the clip's start.
        onset = np.argmax(np.abs(audio) > peak * 10 ** (-50 / 20))
        assert onset < 0.01 * rate
    # Each flute clip's strongest partial is the 1st, 2nd or 3rd harmonic
    # of its labelled pitch (catches notes cut out of the render at the
    # wrong times: the two pitches rendered are three octaves apart).
    flutes = [r for r in rows if r["program"] == 73]
    assert flutes
    for row in flutes:
        audio, rate = ins.read_wav(root / "a" / row["filename"])
        segment = audio[int(0.2 * rate) : int(1.2 * rate)]
        spectrum = np.abs(np.fft.rfft(segment * np.hanning(segment.size)))
        freqs = np.fft.rfftfreq(segment.size, 1 / rate)
        f0 = freqs[np.argmax(spectrum)]
        expected = 440.0 * 2 ** ((row["pitch"] - 69) / 12)
        cents = [abs(1200 * np.log2(f0 / (k * expected))) for k in (1, 2, 3)]
        assert min(cents) < 60, (row, f0)


def test_tiny_build_splits(built):
    root, manifest, _ = built
    rows = ins.read_metadata(root / "a")
    pairs = {}
    for row in rows:
        pairs.setdefault(row["split"], set()).add(
            (row["soundfont"], row["program"])
        )
    train = pairs["train"]
    for split in ("valid", "test_instrument", "test_soundfont"):
        assert not train & pairs.get(split, set()), split
    # The held-out soundfont is only in test_soundfont, and only it is.
    assert {s for s, _ in pairs["test_soundfont"]} == {"tim_b"}
    for split in ("train", "valid", "test_instrument"):
        assert all(s == "tim_a" for s, _ in pairs.get(split, ())), split
    # Programs that share samples (0 and 1 in TimGM6mb) stay together.
    split_of = {p: s for s in pairs for f, p in pairs[s] if f == "tim_a"}
    assert split_of[0] == split_of[1]
    # Every family with two or more groups is tested on unseen programs.
    test_families = {ins.family_of(p) for _, p in pairs["test_instrument"]}
    assert test_families == {"keyboard", "guitar", "bass", "flute"}
    assert {ins.family_of(p) for _, p in pairs["valid"]} == {"keyboard"}
    assert {ins.family_of(p) for _, p in pairs["test_soundfont"]} == {
        "keyboard",
        "guitar",
        "bass",
        "flute",
    }
    assert manifest["counts"]["test_soundfont"]["flute"] == 4


def test_same_seed_gives_identical_dataset(built):
    root, a, b = built
    meta_a = (root / "a" / "metadata.csv").read_bytes()
    assert meta_a == (root / "b" / "metadata.csv").read_bytes()
    assert a["metadata_sha256"] == b["metadata_sha256"]

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    for row in ins.read_metadata(root / "a")[:12]:
        name = row["filename"]
        assert digest(root / "a" / name) == digest(root / "b" / name)
    other = ins.make_plan(tiny_config(seed=1))[0]
    same = ins.make_plan(tiny_config(seed=0))[0]
    assert other != same


def test_rebuild_is_a_no_op_and_other_configs_need_force(built):
    root, manifest, _ = built
    marker = root / "a" / "COMPLETE"
    before = marker.stat().st_mtime_ns
    again = ins.build_dataset(root / "a", tiny_config(), log=lambda m: None)
    assert again == manifest
    assert marker.stat().st_mtime_ns == before
    with pytest.raises(FileExistsError, match="force"):
        ins.build_dataset(root / "a", tiny_config(seed=5), log=lambda m: None)
    assert marker.stat().st_mtime_ns == before


def test_demo_clips(tmp_path):
    need_renderer()
    paths = ins.write_demo_clips(
        tmp_path, soundfont="timgm6mb", per_family=1, seconds=0.5
    )
    assert len(paths) == len(ins.FAMILIES)
    for path in paths:
        audio, rate = ins.read_wav(path)
        assert rate == ins.SAMPLE_RATE and audio.shape == (rate // 2,)
        assert np.max(np.abs(audio)) > 0.5
    with open(tmp_path / "demo_clips.csv", newline="") as f:
        families = [row["family"] for row in csv.DictReader(f)]
    assert families == list(ins.FAMILIES)
