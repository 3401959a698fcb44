"""`keras-attention list`, `info` and `catalog`: the zoo's models, their
cards and the catalog (keras_attention/zoo/data/catalog.json)."""

from __future__ import annotations

import json
import sys

from keras_attention.cli.common import EXIT_MISMATCH, EXIT_OK, PROG


def _millions(value) -> str:
    return f"{value / 1e6:.2f}" if isinstance(value, int) else "?"


def _giga(value) -> str:
    return f"{value / 1e9:.2f}" if isinstance(value, int) else "?"


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [
        max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))
    ]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True))
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))
        )
    return "\n".join(line.rstrip() for line in lines)


def _converted_weight_names() -> dict[str, list[str]]:
    """Model -> its named peer weights, as `list` shows them ("imagenet
    (converted)"), read from the registry's data file alone."""
    import importlib.resources

    text = (
        importlib.resources.files("keras_attention.zoo")
        .joinpath("data", "peer_weights.json")
        .read_text()
    )
    found: dict[str, list[str]] = {}
    for entry in json.loads(text)["weights"]:
        how = "converted, by hand" if entry.get("manual") else "converted"
        found.setdefault(entry["model"], []).append(
            f"{entry['weights']} ({how})"
        )
    return found


def _list(args) -> int:
    # Data only (the package's catalog, the zoo folder's or the package's
    # preset cards, the converted weights' registry): `list` answers
    # without importing Keras or a backend.
    import fnmatch

    from keras_attention.zoo import locations

    counts = locations.read_catalog()
    converted = _converted_weight_names()
    rows = []
    for name, known in sorted(locations.package_catalog().items()):
        if args.pattern and not fnmatch.fnmatch(name, args.pattern):
            continue
        if args.task and known.get("task") != args.task:
            continue
        published = locations.published_weight_names(name)
        if args.pretrained and not published:  # our own weights only
            continue
        published += converted.get(name, [])
        entry = counts.get(name, {})
        rows.append(
            [
                name,
                known.get("task", "?"),
                _millions(entry.get("trainable_params")),
                _giga(entry.get("macs")),
                ", ".join(published) or "-",
            ]
        )
    if args.json:
        keys = ["name", "task", "params_m", "macs_g", "weights"]
        print(json.dumps([dict(zip(keys, r, strict=True)) for r in rows]))
        return EXIT_OK
    if not rows:
        print("No model matches.", file=sys.stderr)
        return EXIT_OK
    print(_table(rows, ["name", "task", "params (M)", "MACs (G)", "weights"]))
    return EXIT_OK


def add_list(subparsers) -> None:
    p = subparsers.add_parser(
        "list",
        help="list the models of the zoo",
        description=(
            "List registered models. 'params (M)' counts trainable "
            "parameters (as the papers do) and 'MACs (G)' multiply-"
            "accumulates of one example at the default input size, both "
            "from the catalog (keras_attention/zoo/data/catalog.json)."
        ),
    )
    p.add_argument("pattern", nargs="?", help="shell pattern, e.g. 'cbam_*'")
    p.add_argument("--task", choices=("image", "audio"))
    p.add_argument(
        "--pretrained",
        action="store_true",
        help="only models with published weights",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_list)


# ------------------------------------------------------------------ info


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_format_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _weights_summary(entry: dict) -> list[tuple[str, str]]:
    """The fields of a published model card worth a line each; the whole
    card is in `info NAME --json`."""
    rows = []
    dataset = entry.get("dataset")
    if isinstance(dataset, dict):
        rows.append(("dataset", dataset.get("name", dataset.get("key", "?"))))
    elif dataset:
        rows.append(("dataset", str(dataset)))
    names = entry.get("class_names")
    if names:
        shown = ", ".join(map(str, names[:6]))
        more = f", ... ({len(names)} in all)" if len(names) > 6 else ""
        rows.append(("classes", f"{len(names)}: {shown}{more}"))
    elif entry.get("num_classes"):
        rows.append(("classes", str(entry["num_classes"])))
    metrics = entry.get("metrics")
    if isinstance(metrics, dict):
        scalars = {
            k: v
            for k, v in metrics.items()
            if isinstance(v, int | float)
            and not isinstance(v, bool)
            and k not in ("seconds",)
        }
        if scalars:
            rows.append(("metrics", _format_value(scalars)))
    size = (entry.get("preprocessing") or {}).get("input_size")
    if size:
        rows.append(("input size", "x".join(map(str, size))))
    if entry.get("license"):
        rows.append(("license", _format_value(entry["license"])))
    if entry.get("epochs") is not None:
        rows.append(("epochs", str(entry["epochs"])))
    files = entry.get("files")
    if isinstance(files, dict):
        total = sum(
            f.get("size", 0) for f in files.values() if isinstance(f, dict)
        )
        rows.append(("files", f"{len(files)} ({total / 1e6:.1f} MB)"))
    if entry.get("path"):
        rows.append(("path", entry["path"]))
    elif "url" in entry:
        rows.append(("url", entry["url"] or "none (downloads are off)"))
    return rows


def _format_card(card: dict) -> str:
    lines = [f"{card['name']}: {card.get('description', '')}"]
    fields = [
        ("task", card.get("task")),
        ("family", card.get("family")),
        ("attention", card.get("attention") or "none"),
        ("paper", card.get("paper")),
        ("input", f"{tuple(card.get('input_shape', ()))}"),
    ]
    if "trainable_params" in card:
        fields.append(
            (
                "params",
                f"{card['trainable_params']:,} trainable "
                f"({card['params']:,} with batch-norm statistics)",
            )
        )
        fields.append(
            (
                "MACs",
                f"{card['macs'] / 1e9:.3f} G at "
                f"{tuple(card.get('input_shape', ()))}",
            )
        )
    else:
        fields.append(
            (
                "params",
                "not in the catalog yet",
            )
        )
    fields.append(("default weights", card.get("default_weights") or "none"))
    width = max(len(k) for k, _ in fields)
    lines += [f"  {k.ljust(width)}  {str(v).strip()}" for k, v in fields]
    weights = card.get("weights") or {}
    if not weights:
        lines.append("  weights: none published (random initialisation)")
    for weights_name, entry in weights.items():
        default = " (default)" if entry.get("default") else ""
        lines.append(f"  weights {weights_name!r}{default}:")
        rows = _weights_summary(entry)
        width = max((len(k) for k, _ in rows), default=0)
        lines += [f"    {k.ljust(width)}  {v}" for k, v in rows]
    for weights_name, entry in (card.get("converted_weights") or {}).items():
        lines.append(f"  weights {weights_name!r} (converted from a peer):")
        rows = [
            ("source", entry["source"] or f"by hand: {entry['homepage']}"),
            *_weights_summary(entry),
            ("metric source", entry["metric_source"]),
        ]
        width = max(len(k) for k, _ in rows)
        lines += [f"    {k.ljust(width)}  {v}" for k, v in rows]
    if weights or card.get("converted_weights"):
        lines.append(
            f"  (whole model cards: {PROG} info {card['name']} --json)"
        )
    return "\n".join(lines)


def _info(args) -> int:
    from keras_attention import zoo

    card = zoo.info(args.name)
    if args.json:
        print(json.dumps(card, indent=2, sort_keys=True, default=str))
    else:
        print(_format_card(card))
    return EXIT_OK


def add_info(subparsers) -> None:
    p = subparsers.add_parser("info", help="print a model card")
    p.add_argument("name", help="model name, see `keras-attention list`")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_info)


# --------------------------------------------------------------- catalog


def _catalog(args) -> int:
    from keras_attention.zoo import catalog

    def progress(name, entry):
        print(
            f"{name}: {entry['trainable_params']:,} trainable params, "
            f"{entry['macs'] / 1e9:.3f} GMACs",
            file=sys.stderr,
        )

    if args.write:
        path = catalog.write_catalog(
            names=args.names or None, progress=progress
        )
        print(f"Wrote {path}")
        return EXIT_OK
    mismatches = catalog.check_catalog(args.names or None)
    for m in mismatches:
        print(
            f"{m['name']}: {m['field']}: catalog {m['catalog']}, "
            f"computed {m['computed']}"
        )
    if mismatches:
        print(
            f"{len(mismatches)} mismatch(es); run `{PROG} catalog --write`.",
            file=sys.stderr,
        )
        return EXIT_MISMATCH
    print(f"{catalog.catalog_path()} is up to date.")
    return EXIT_OK


def add_catalog(subparsers) -> None:
    p = subparsers.add_parser(
        "catalog",
        help="regenerate or verify the packaged catalog.json",
        description=(
            "Compute parameter and MAC counts of the registered models at "
            "their default input shape. --check exits 1 on a mismatch."
        ),
    )
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    p.add_argument("names", nargs="*", help="only these models (default: all)")
    p.set_defaults(handler=_catalog)
