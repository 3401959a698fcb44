"""Builds the NSynth-style instrument-family dataset (see
docs/guides/instrument-dataset.md; the code is in `training/instruments/`).

Full build (about 34k clips, 4.3 GB, both cores)::

    python -m training.build_instrument_dataset --out DIR

Plan only (clip counts per split and family, nothing rendered)::

    python -m training.build_instrument_dataset --dry-run

Demo clips (1 s, two per family)::

    python -m training.build_instrument_dataset --demo-out DIR

Needs ``apt-get install fluidsynth fluid-soundfont-gm
musescore-general-soundfont timgm6mb-soundfont csound-soundfont``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from training import instruments


def _path_override(text: str) -> tuple[str, str]:
    key, sep, path = text.partition("=")
    if not sep or not key or not path:
        raise argparse.ArgumentTypeError(f"expected KEY=PATH, got {text!r}")
    return key, path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m training.build_instrument_dataset",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--out",
        type=Path,
        default=instruments.default_output_dir(),
        help="dataset directory (created atomically)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--soundfonts",
        nargs="+",
        default=list(instruments.DEFAULT_SOUNDFONTS),
        help=f"keys among {sorted(instruments.SOUNDFONTS)}",
    )
    p.add_argument(
        "--test-soundfont",
        nargs="+",
        default=[instruments.DEFAULT_TEST_SOUNDFONT],
        help="held out with every soundfont of the same lineage",
    )
    p.add_argument(
        "--soundfont-path",
        action="append",
        type=_path_override,
        default=[],
        metavar="KEY=PATH",
        help="use another file for a registered soundfont",
    )
    p.add_argument("--velocities-per-pitch", type=int, default=3)
    p.add_argument("--test-soundfont-velocities", type=int, default=1)
    p.add_argument("--test-fraction", type=float, default=0.15)
    p.add_argument("--valid-fraction", type=float, default=0.10)
    p.add_argument(
        "--programs",
        type=int,
        nargs="+",
        default=None,
        help="GM programs (0-127) to render; default all mapped ones",
    )
    p.add_argument(
        "--max-pitches",
        type=int,
        default=None,
        help="evenly spaced pitches per instrument (for quick builds)",
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--fluidsynth", default=None, help="fluidsynth binary")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a dataset built with another configuration",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the planned clip counts and exit",
    )
    p.add_argument(
        "--demo-out",
        type=Path,
        default=None,
        help="write demo clips here instead of building the dataset",
    )
    p.add_argument("--demo-soundfont", default="fluidr3_gm")
    p.add_argument("--demo-per-family", type=int, default=2)
    p.add_argument("--demo-seconds", type=float, default=1.0)
    return p.parse_args(argv)


def _print_counts(counts: dict) -> None:
    families = instruments.FAMILIES
    print(f"{'split':16s}" + "".join(f"{f[:8]:>9s}" for f in families)
          + f"{'total':>8s}")  # fmt: skip
    for split, row in counts.items():
        cells = "".join(f"{row.get(f, 0):9d}" for f in families)
        print(f"{split:16s}{cells}{sum(row.values()):8d}")


def _terminate(signum, frame):
    # Unwind normally on SIGTERM so the temporary directory is removed.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    overrides = dict(args.soundfont_path)
    if args.demo_out is not None:
        paths = instruments.write_demo_clips(
            args.demo_out,
            soundfont=args.demo_soundfont,
            per_family=args.demo_per_family,
            seconds=args.demo_seconds,
            soundfont_path=overrides.get(args.demo_soundfont),
            fluidsynth=args.fluidsynth,
        )
        size = sum(p.stat().st_size for p in paths)
        print(f"Wrote {len(paths)} demo clips ({size / 1e3:.0f} kB) to "
              f"{args.demo_out}")  # fmt: skip
        return 0
    config = instruments.BuildConfig(
        soundfonts=tuple(args.soundfonts),
        test_soundfonts=tuple(args.test_soundfont),
        soundfont_paths=overrides,
        seed=args.seed,
        velocities_per_pitch=args.velocities_per_pitch,
        test_soundfont_velocities=args.test_soundfont_velocities,
        test_fraction=args.test_fraction,
        valid_fraction=args.valid_fraction,
        programs=None if args.programs is None else tuple(args.programs),
        max_pitches=args.max_pitches,
    )
    if args.dry_run:
        plan, records, groups = instruments.make_plan(config)
        _print_counts(instruments.planned_counts(plan))
        held = {s: sorted({i.name for i in plan if i.split == s})
                for s in ("valid", "test_instrument")}  # fmt: skip
        print(json.dumps({"held_out": held, "soundfonts": records}, indent=1))
        return 0
    started = time.time()
    manifest = instruments.build_dataset(
        args.out,
        config,
        workers=args.workers,
        fluidsynth=args.fluidsynth,
        force=args.force,
    )
    _print_counts(manifest["counts"])
    print(
        f"{manifest['clips']} clips, {manifest['dropped_clips']} dropped as "
        f"silent, max raw peak {manifest['max_raw_peak']:.3f}, "
        f"{time.time() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (
        instruments.SoundFontError,
        instruments.FluidsynthNotFoundError,
        FileExistsError,
        ValueError,
    ) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
