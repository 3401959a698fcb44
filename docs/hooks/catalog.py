"""mkdocs hook: generates the model catalog, ablation and benchmark tables.

Nothing here is typed by hand. The catalog pages come from
`keras_attention.zoo.list_models()` and `keras_attention.zoo.info()` (which
read the package's catalog, `keras_attention/zoo/data/catalog.json`, and the
published model cards; no model is built). Attention labels and papers come
from `keras_attention.layers.factory.ATTENTION_INFO`.
Placeholders in hand-written pages are replaced:

- `<!-- ablation-tables -->`: metrics of the published model cards;
- `<!-- benchmark:NAME -->`: tables of `benchmarks/results/NAME.json`, one
  per backend; a missing file is a warning, so the strict build fails;
- `<!-- named-weights -->`: the converted peer weights
  (`keras_attention/zoo/data/peer_weights.json`);
- `<!-- figures -->`: the images in `docs/figures/`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from mkdocs.structure.files import File  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TASK_TITLES = {"image": "Image classification", "audio": "Audio classification"}
FAMILY_TITLES = {
    "resnet": "ResNet",
    "panns_cnn": "PANNs CNN",
    "resnet_audio": "ResNet (audio)",
}
MISSING = "—"


def _zoo():
    from keras_attention import zoo

    return zoo


def _cards() -> dict[str, dict]:
    zoo = _zoo()
    return {name: zoo.info(name) for name in zoo.list_models()}


def _count(value, unit: str = "") -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return MISSING
    for scale, suffix in ((1e9, "\u00a0G"), (1e6, "\u00a0M"), (1e3, "\u00a0k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}{unit}"
    return f"{value:g}{unit}".strip()


def _shape(value) -> str:
    if not value:
        return MISSING
    return "×".join("?" if v is None else str(v) for v in value)


def _input(card: dict) -> str:
    text = _shape(card.get("input_shape"))
    if card.get("input_kind") == "waveform":
        text += " samples"
    return text


def _dataset(card: dict) -> str:
    data = card.get("dataset")
    if isinstance(data, dict):
        data = data.get("name") or data.get("id")
    return str(data) if data else MISSING


# Numbers in a card's `metrics` that are bookkeeping, not results.
NOT_METRICS = ("seconds",)


def _headline_metrics(metrics) -> dict[str, float]:
    """The top-level results of a card's `metrics` (`test_accuracy`,
    `test_loss`, ...). Breakdowns (per class, on the bundled sample) and
    counts (`test_images`) stay in the model card."""
    if not isinstance(metrics, dict):
        return {}
    sets = metrics.get("test_sets")
    if isinstance(sets, dict):
        # Audio cards: one accuracy per test set (e.g. held-out
        # instruments, held-out soundfont).
        return {
            f"{name.replace('_', ' ')} accuracy": entry["accuracy"]
            for name, entry in sets.items()
        }
    return {
        key.replace("_", " "): value
        for key, value in metrics.items()
        if isinstance(value, float) and key not in NOT_METRICS
    }


def _metric_text(metrics) -> str:
    flat = _headline_metrics(metrics)
    if not flat:
        return MISSING
    return ", ".join(f"{k} {v:.4g}" for k, v in flat.items())


def _weights_cell(card: dict) -> tuple[str, str]:
    entries = card.get("weights") or {}
    converted = card.get("converted_weights") or {}
    if not entries and not converted:
        return "not yet published", MISSING
    names, metrics = [], []
    for weights_name, entry in entries.items():
        names.append(f"`{weights_name}` ({_dataset(entry)})")
        metrics.append(_metric_text(entry.get("metrics")))
    for weights_name, entry in converted.items():
        names.append(
            f"`{weights_name}` ({_dataset(entry)}, "
            "[converted](../guides/pretrained.md))"
        )
        metrics.append(_metric_text(entry.get("metrics")) + " (published)")
    return "<br>".join(names), "<br>".join(metrics)


def named_weights_table() -> str:
    """The converted peer weights (`keras_attention.zoo.peer_weights`)."""
    from keras_attention.zoo import peer_weights

    rows = [
        "| model | weights | source | license | published metric "
        "| metric source |",
        "|---|---|---|---|---|---|",
    ]
    for e in peer_weights.all_named_weights():
        source = (
            f"`{e['source']}`"
            if e["source"]
            else f"download by hand: [{e['homepage']}]({e['homepage']})"
        )
        metric = ", ".join(f"{k} {v:g}" for k, v in e["metrics"].items())
        rows.append(
            f"| `{e['model']}` | `{e['weights']}` | {source} | "
            f"{e['license']['name']} | {metric} | {e['metric_source']} |"
        )
    return "\n".join(rows)


def _attention(card: dict) -> str:
    """The attention of `card`, linked to its paper."""
    from keras_attention.layers.factory import ATTENTION_INFO

    name = card.get("attention")
    info = ATTENTION_INFO.get(name)
    if name is None or info is None:
        return name or "none"
    return f"[{info.label}]({info.paper})"


def _row(card: dict) -> str:
    weights, metrics = _weights_cell(card)
    attention = _attention(card)
    return (
        f"| `{card['name']}` | {attention} | "
        f"{_count(card.get('params'))} | {_count(card.get('macs'))} | "
        f"{_input(card)} | {weights} | {metrics} |"
    )


TABLE_HEAD = (
    "| model | attention | params | MACs | input | weights | metrics |\n"
    "|---|---|---|---|---|---|---|"
)


def _notes(cards: dict) -> str:
    lines = []
    if not any(c.get("params") is not None for c in cards.values()):
        lines.append(
            "!!! note\n    Parameter and MAC counts come from "
            "the package's `catalog.json`, which has not been generated yet "
            "(`keras-attention catalog --write`); they show as —."
        )
    if not any(c.get("weights") for c in cards.values()):
        lines.append(
            "!!! note\n    No weights are published yet: they are being "
            "trained. `zoo.load(name)` returns a randomly initialised model "
            "until then."
        )
    return "\n\n".join(lines)


def catalog_index(cards: dict) -> str:
    parts = [
        "# Model catalog",
        "",
        "Generated at build time from `keras_attention.zoo.list_models()` "
        "and `keras_attention.zoo.info(name)`. MACs are multiply-"
        "accumulates of the conv and dense layers for one example at the "
        'listed input size (the papers\' "FLOPs").',
        "",
        _notes(cards),
        "",
    ]
    for task in ("image", "audio"):
        rows = [c for c in cards.values() if c.get("task") == task]
        if not rows:
            continue
        parts += [f"## {TASK_TITLES[task]}", "", TABLE_HEAD]
        parts += [_row(c) for c in rows]
        parts.append("")
    families = sorted({c.get("family") for c in cards.values()})
    parts += ["## Families", ""]
    parts += [f"- [{FAMILY_TITLES.get(f, f)}]({f}.md)" for f in families if f]
    return "\n".join(parts) + "\n"


def family_page(family: str, cards: dict) -> str:
    rows = [c for c in cards.values() if c.get("family") == family]
    title = FAMILY_TITLES.get(family, family)
    parts = [f"# {title}", ""]
    parts += [f"{len(rows)} registered models.", "", TABLE_HEAD]
    parts += [_row(c) for c in rows]
    parts += ["", "## Models", ""]
    for card in rows:
        parts += [
            f"### `{card['name']}`",
            "",
            f"{card.get('description', '')}. Paper: <{card.get('paper')}>.",
            "",
            "```text",
            f"task        {card.get('task')}",
            f"input       {_shape(card.get('input_shape'))} "
            f"({card.get('input_kind', 'image')})",
            f"params      {card.get('params', MISSING)}",
            f"trainable   {card.get('trainable_params', MISSING)}",
            f"MACs        {card.get('macs', MISSING)}",
            f"weights     {', '.join(card.get('weights') or {}) or 'none'}",
            "```",
            "",
        ]
    return "\n".join(parts) + "\n"


def ablation_tables(cards: dict) -> str:
    by_dataset: dict[str, list] = {}
    for card in cards.values():
        for weights_name, entry in (card.get("weights") or {}).items():
            by_dataset.setdefault(_dataset(entry), []).append(
                (card, weights_name, _headline_metrics(entry.get("metrics")))
            )
    if not by_dataset:
        return (
            '!!! note "Weights are being trained"\n'
            "    No model card is published under `zoo/*/*/model_card.json` "
            "yet, so there is no ablation table. It appears here, generated "
            "from the model cards, once the first weights are published."
        )
    parts = []
    for dataset, rows in sorted(by_dataset.items()):
        keys = sorted({k for _, _, m in rows for k in m})
        parts += [
            f"### {dataset}",
            "",
            "| model | attention | weights | params | "
            + " | ".join(keys)
            + " |",
            "|---|---|---|---|" + "---|" * len(keys),
        ]
        for card, weights_name, metrics in rows:
            values = [
                f"{metrics[k]:.4g}" if k in metrics else MISSING for k in keys
            ]
            parts.append(
                f"| `{card['name']}` | {_attention(card)} | "
                f"`{weights_name}` | {_count(card.get('params'))} | "
                + " | ".join(values)
                + " |"
            )
        parts.append("")
    return "\n".join(parts)


# === Benchmarks ===
# `benchmarks/results/NAME.json`, as written by
# `python -m benchmarks.NAME --backend all --json ...`: {"command",
# "reports": [one per backend: {"command", "backend", "jit_compile",
# "keras", "machine", "warmup", "repeats", "input_shape", "results"}]}.
# KERAS_ATTENTION_BENCHMARK_RESULTS points the build at another folder
# (e.g. to preview results that are not committed).
RESULTS_ENV = "KERAS_ATTENTION_BENCHMARK_RESULTS"
BACKEND_TITLES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
log = logging.getLogger("mkdocs.plugins.keras_attention_catalog")
BENCHMARK_PLACEHOLDER = re.compile(r"<!--\s*benchmark:\s*(\w+)\s*-->")


class BenchmarkError(Exception):
    """A benchmark results file is missing or unreadable."""


def results_dir() -> Path:
    return Path(os.environ.get(RESULTS_ENV) or ROOT / "benchmarks" / "results")


# Results written by another script than `benchmarks.NAME`.
BENCHMARK_SCRIPTS = {"audio_forward": "resnet_forward --task audio"}


def benchmark_command(name: str) -> str:
    """The command that writes `benchmarks/results/NAME.json`."""
    if name == "scaling":  # one backend, one subprocess per case
        return "python -m benchmarks.scaling --json benchmarks/results/" + (
            "scaling.json --plot docs/assets/scaling.png"
        )
    script = BENCHMARK_SCRIPTS.get(name, name)
    return (
        f"python -m benchmarks.{script} --backend all "
        f"--json benchmarks/results/{name}.json"
    )


def _layer_overhead_rows(report: dict) -> list[str]:
    channels = report["input_shape"][-1]
    rows = [
        "| layer | params added | time (ms) | ratio | CPU time (ms) "
        "| CPU-time ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        layer = (
            f"Conv3x3({channels}) only"
            if r["layer"] == "none"
            else f"`{r['layer']}`"
        )
        rows.append(
            f"| {layer} | {r['params_added']:,} | {r['ms']:.1f} | "
            f"{r['ratio']:.3f} | {r['cpu_ms']:.1f} | {r['cpu_ratio']:.3f} |"
        )
    return rows


KERAS_APPS = "keras.applications.ResNet50"


def _resnet_forward_rows(report: dict) -> list[str]:
    rows = [
        "| model | batch | GMACs | time (ms) | ratio | ratio to Keras "
        "| CPU time (ms) | CPU-time ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        apps = r.get("ratio_to_keras_applications")
        model = "keras.applications" if r["model"] == KERAS_APPS else r["model"]
        rows.append(
            f"| `{model}` | {r['batch']} | {r['macs'] / 1e9:.2f} | "
            f"{r['ms']:.1f} | {r['ratio_to_baseline']:.3f} | "
            f"{MISSING if apps is None else f'{apps:.3f}'} | "
            f"{r['cpu_ms']:.1f} | {r['cpu_ratio_to_baseline']:.3f} |"
        )
    return rows


def _audio_forward_rows(report: dict) -> list[str]:
    base = report["baseline"]
    rows = [
        f"| model | batch | GMACs | time (ms) | ratio to `{base}` "
        "| CPU time (ms) | CPU-time ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        rows.append(
            f"| `{r['model']}` | {r['batch']} | {r['macs'] / 1e9:.2f} | "
            f"{r['ms']:.1f} | {r['ratio_to_baseline']:.3f} | "
            f"{r['cpu_ms']:.1f} | {r['cpu_ratio_to_baseline']:.3f} |"
        )
    return rows


def _peer_parity_rows(report: dict) -> list[str]:
    rows = [
        "| peer model | ours | max abs diff | max relative diff "
        "| max abs logit | argmax agree |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        rows.append(
            f"| `{r['peer']}` | `{r['model']}` | {r['max_abs_diff']:.2g} | "
            f"{r['max_rel_diff']:.2g} | {r['max_abs_logit']:.3g} | "
            f"{r['argmax_agree']:.0%} |"
        )
    return rows


def _peers_rows(report: dict) -> list[str]:
    rows = [
        "| model | mode | batch | time (ms) | ratio to timm "
        "| CPU-time ratio to timm | ratio to `resnet50` |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        timm, cpu = r["ratio_to_timm"], r["cpu_ratio_to_timm"]
        rows.append(
            f"| `{r['model']}` | {r['mode']} | {r['batch']} | {r['ms']:.1f} "
            f"| {MISSING if timm is None else f'{timm:.3f}'} "
            f"| {MISSING if cpu is None else f'{cpu:.3f}'} "
            f"| {r['ratio_to_resnet50']:.3f} |"
        )
    return rows


def _scaling_rows(report: dict) -> list[str]:
    rows = [
        "| input | command | size | time (s) | CPU time (s) "
        "| peak RSS (MiB) | peak growth (MiB) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        unit = "s" if r["kind"] == "audio" else "px"
        rows.append(
            f"| {r['kind']} (`{r['model']}`) | {r['command']} | "
            f"{r['size']:g} {unit} | {r['seconds']:.2f} | "
            f"{r['cpu_seconds']:.2f} | {r['peak_rss_mib']:.0f} | "
            f"{r['peak_growth_mib']:.0f} |"
        )
    rows += [
        "",
        "| input | command | time ratio per doubling |",
        "|---|---|---|",
    ]
    for s in report["summary"]:
        ratios = ", ".join(f"{v:.2f}" for v in s["time_ratio_per_doubling"])
        rows.append(f"| {s['kind']} | {s['command']} | {ratios} |")
    return rows


BENCHMARKS = {
    "peer_parity": _peer_parity_rows,
    "peers": _peers_rows,
    "scaling": _scaling_rows,
    "layer_overhead": _layer_overhead_rows,
    "resnet_forward": _resnet_forward_rows,
    "audio_forward": _audio_forward_rows,
}


def _read_results(name: str, directory: Path) -> dict:
    path = directory / f"{name}.json"
    shown = f"benchmarks/results/{name}.json"
    if directory != ROOT / "benchmarks" / "results":
        shown = str(path)
    if name not in BENCHMARKS:
        raise BenchmarkError(
            f"Unknown benchmark {name!r} in a `<!-- benchmark:NAME -->` "
            f"placeholder; known: {', '.join(BENCHMARKS)}."
        )
    if not path.is_file():
        raise BenchmarkError(
            f"Benchmark results {shown} are missing. Produce them with "
            f"`{benchmark_command(name)}` (or point {RESULTS_ENV} at a "
            "folder that holds them)."
        )
    try:
        data = json.loads(path.read_text())
        reports = data["reports"]
        if not reports or not all(r["results"] for r in reports):
            raise ValueError("no results")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BenchmarkError(
            f"Benchmark results {shown} are unreadable ({error!r}); write "
            f"them again with `{benchmark_command(name)}`."
        ) from error
    return data


def _report_note(report: dict) -> str:
    if "repeats" not in report:  # a parity report: no timing
        size = report.get("image_size", MISSING)
        return (
            f"Input {size}×{size}, batch {report.get('batch', MISSING)}; "
            f"Keras {report.get('keras', MISSING)}.  \n"
            f"Machine: {report.get('machine', MISSING)}.  \n"
            f"Command: `{report['command']}`"
        )
    compiled = (
        "compiled with XLA (`jit_compile=True`)"
        if report.get("jit_compile")
        else "eager"
    )
    shape = "×".join(str(v) for v in report.get("input_shape", []))
    return (
        f"Input {shape}; median of {report['repeats']} interleaved rounds "
        f"after {report['warmup']} warm-up call(s); {compiled}; "
        f"Keras {report.get('keras', MISSING)}.  \n"
        f"Machine: {report.get('machine', MISSING)}.  \n"
        f"Command: `{report['command']}`"
    )


def benchmark_section(name: str, directory: Path | None = None) -> str:
    """Markdown of `benchmarks/results/NAME.json`: one table per backend,
    each followed by its command and machine. Raises `BenchmarkError` if
    the file is missing or unreadable."""
    data = _read_results(name, directory or results_dir())
    parts = [
        f"Regenerate with `{benchmark_command(name)}` (one subprocess per "
        "backend).",
        "",
    ]
    for report in data["reports"]:
        backend = report.get("backend", MISSING)
        parts += [
            f"### {BACKEND_TITLES.get(backend, backend)}",
            "",
            *BENCHMARKS[name](report),
            "",
            _report_note(report),
            "",
        ]
    return "\n".join(parts)


def _benchmark_or_warning(name: str, page: str) -> str:
    try:
        return benchmark_section(name)
    except BenchmarkError as error:
        # A warning fails the strict build (`make docs`, the docs tests)
        # with this message; a non-strict preview shows it on the page.
        log.warning("%s: %s", page, error)
        return f'!!! failure "Missing benchmark results"\n    {error}\n'


def figure_gallery(page_dir: str) -> str:
    figures = sorted((ROOT / "docs" / "figures").glob("*.png"))
    if not figures:
        return (
            "*No figures in `docs/figures/` yet; they are written by "
            "`make demo` and the training recipes.*"
        )
    depth = page_dir.count("/") + 1 if page_dir else 0
    prefix = "../" * depth
    return "\n\n".join(
        f"![{f.stem}]({prefix}figures/{f.name})" for f in figures
    )


_CACHE: dict = {}


def on_config(config):
    """Adds one nav entry per registered model family under the catalog."""
    cards = _cards()
    _CACHE["cards"] = cards
    families = sorted({c.get("family") for c in cards.values() if c})
    for item in config["nav"]:
        if isinstance(item, dict) and "Model catalog" in item:
            item["Model catalog"] = ["catalog/index.md"] + [
                {FAMILY_TITLES.get(f, f): f"catalog/{f}.md"} for f in families
            ]
    return config


def on_files(files, config):
    cards = _CACHE.get("cards") or _cards()
    files.append(
        File.generated(config, "catalog/index.md", content=catalog_index(cards))
    )
    for family in sorted({c.get("family") for c in cards.values() if c}):
        files.append(
            File.generated(
                config,
                f"catalog/{family}.md",
                content=family_page(family, cards),
            )
        )
    return files


def on_page_markdown(markdown, page, config, files):
    cards = _CACHE.get("cards") or _cards()
    if "<!-- ablation-tables -->" in markdown:
        markdown = markdown.replace(
            "<!-- ablation-tables -->", ablation_tables(cards)
        )
    if "<!-- named-weights -->" in markdown:
        markdown = markdown.replace(
            "<!-- named-weights -->", named_weights_table()
        )
    if "<!-- figures -->" in markdown:
        page_dir = os.path.dirname(page.file.src_uri)
        markdown = markdown.replace(
            "<!-- figures -->", figure_gallery(page_dir)
        )
    return BENCHMARK_PLACEHOLDER.sub(
        lambda m: _benchmark_or_warning(m[1], page.file.src_uri), markdown
    )
