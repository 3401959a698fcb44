"""The parallel build into a staged folder (`keras_attention.atomic`),
its manifest (`COMPLETE`) and reading a finished dataset back."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from keras_attention import atomic
from training.instruments.gm import (
    CLIP_SECONDS,
    FAMILIES,
    FORMAT_VERSION,
    GM_PROGRAMS,
    METADATA_COLUMNS,
    QUIET_DB,
    SAMPLE_RATE,
    SILENCE_PEAK,
    SPLITS,
    TARGET_PEAK,
)
from training.instruments.render import (
    render_notes,
    trim_note,
    write_wav,
)
from training.instruments.sf2 import (
    SoundFontError,
    find_fluidsynth,
)
from training.instruments.splits import (
    BuildConfig,
    Instrument,
    make_plan,
)

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
