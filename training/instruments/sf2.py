"""The soundfonts (`SOUNDFONTS`), finding `fluidsynth`, and reading an
SF2/SF3 file's preset, instrument and sample tables (which samples each
program plays, for the sharing groups)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import struct
from pathlib import Path

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
