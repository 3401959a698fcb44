"""mkdocs hook: generates the model catalog, ablation and benchmark tables.

Nothing here is typed by hand. The catalog pages come from
`keras_attention.zoo.list_models()` and `keras_attention.zoo.info()` (which
read `zoo/catalog.json` and the published model cards; no model is built).
Placeholders in hand-written pages are replaced:

- `<!-- ablation-tables -->`: metrics of the published model cards;
- `<!-- benchmark:NAME -->`: `benchmarks/results/NAME.json`;
- `<!-- figures -->`: the images in `docs/figures/`.
"""

from __future__ import annotations

import json
import logging
import os
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
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
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


def _flat_metrics(metrics) -> dict[str, float]:
    flat = {}
    if not isinstance(metrics, dict):
        return flat
    for key, value in metrics.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, int | float) and not isinstance(
                    inner, bool
                ):
                    flat[f"{key} {sub}"] = inner
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[key] = value
    return flat


def _metric_text(metrics) -> str:
    flat = _flat_metrics(metrics)
    if not flat:
        return MISSING
    return ", ".join(f"{k} {v:.4g}" for k, v in flat.items())


def _weights_cell(card: dict) -> tuple[str, str]:
    entries = card.get("weights") or {}
    if not entries:
        return "not yet published", MISSING
    names, metrics = [], []
    for weights_name, entry in entries.items():
        names.append(f"`{weights_name}` ({_dataset(entry)})")
        metrics.append(_metric_text(entry.get("metrics")))
    return "<br>".join(names), "<br>".join(metrics)


def _row(card: dict) -> str:
    weights, metrics = _weights_cell(card)
    attention = card.get("attention") or "none"
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
            "`zoo/catalog.json`, which has not been generated yet "
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
                (card, weights_name, _flat_metrics(entry.get("metrics")))
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
                f"| `{card['name']}` | {card.get('attention') or 'none'} | "
                f"`{weights_name}` | {_count(card.get('params'))} | "
                + " | ".join(values)
                + " |"
            )
        parts.append("")
    return "\n".join(parts)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "×".join(str(v) for v in value)
    return str(value).replace("|", "\\|")


def benchmark_table(name: str) -> str:
    path = ROOT / "benchmarks" / "results" / f"{name}.json"
    command = f".venv/bin/python benchmarks/{name}.py"
    if not path.exists():
        return (
            f'!!! note "No results yet"\n    `benchmarks/results/{name}'
            f".json` is not in the repository. Produce it with\n\n"
            f"    ```bash\n    {command}\n    ```\n"
        )
    data = json.loads(path.read_text())
    rows = data.get("results", data) if isinstance(data, dict) else data
    meta = {
        k: v
        for k, v in (data.items() if isinstance(data, dict) else [])
        if k != "results" and not isinstance(v, dict | list)
    }
    parts = [f"Produced by `{command}` (`benchmarks/results/{name}.json`)."]
    if meta:
        parts.append(
            "Measured with " + ", ".join(f"{k}: {v}" for k, v in meta.items())
        )
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        keys = list(dict.fromkeys(k for r in rows for k in r))
        parts += [
            "",
            "| " + " | ".join(keys) + " |",
            "|" + "---|" * len(keys),
        ]
        parts += [
            "| " + " | ".join(_cell(r.get(k, MISSING)) for k in keys) + " |"
            for r in rows
        ]
    else:
        parts += ["", "```json", json.dumps(data, indent=2), "```"]
    return "\n".join(parts) + "\n"


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

# Known griffe complaints about library docstrings/`__all__` that are not
# errors in the rendered pages. Narrow on purpose: anything else still
# fails the strict build. Remove an entry once its source is fixed.
_TOLERATED_GRIFFE = (
    "Unsupported item in keras_attention.models.__all__",
    "Failed to get 'name: description' pair from",
)


class _GriffeFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in _TOLERATED_GRIFFE)


def on_startup(command, dirty):
    for name in ("mkdocs.plugins.griffe", "griffe"):
        logging.getLogger(name).addFilter(_GriffeFilter())


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
    if "<!-- figures -->" in markdown:
        page_dir = os.path.dirname(page.file.src_uri)
        markdown = markdown.replace(
            "<!-- figures -->", figure_gallery(page_dir)
        )
    while "<!-- benchmark:" in markdown:
        start = markdown.index("<!-- benchmark:")
        end = markdown.index("-->", start)
        name = markdown[start + len("<!-- benchmark:") : end].strip()
        markdown = (
            markdown[:start] + benchmark_table(name) + markdown[end + 3 :]
        )
    return markdown
