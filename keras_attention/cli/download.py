"""`keras-attention download [NAME ...]`: fetches published presets ahead
of time, so that `zoo.load` needs no network later."""

from __future__ import annotations

from keras_attention.cli.common import EXIT_OK


def _download(args) -> int:
    from keras_attention.zoo import registry, weights

    names = args.names or registry.list_models(pretrained=True)
    for name in names:
        registry.get_spec(name)
        entries = registry.published_weights(name)
        if not entries:
            raise ValueError(
                f"{name!r} has no published weights (see "
                "`keras-attention list --pretrained`)."
            )
        for weights_name, entry in entries.items():
            folder = weights.fetch_published(name, weights_name, entry)
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                rel = path.relative_to(folder).as_posix()
                size = path.stat().st_size
                print(f"{name}/{weights_name}/{rel}  {size:,} bytes  {path}")
    return EXIT_OK


def add_download(subparsers) -> None:
    p = subparsers.add_parser(
        "download",
        help="fetch published weights into the cache (default: all)",
        description=(
            "Download the published presets of the named models (default: "
            "every model with published weights) into the cache, each "
            "file checked against the sha256 and size of its model card, "
            "and print one line per file. A source checkout's zoo/ folder "
            "is checked in place instead. Downloads come from "
            "KERAS_ATTENTION_WEIGHTS_URL, or the project's release."
        ),
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="model names")
    p.set_defaults(handler=_download)
