"""`keras-attention convert SOURCE --model NAME --out DIR`.

Converts a peer's checkpoint (a torchvision/timm `.safetensors` or `.pth`,
a PANNs `.pth`, an `https://` URL or `hf://org/repo` of one; see
`keras_attention.zoo.peers`) into the zoo model NAME, writes it as a
keras-hub preset with a model card (atomically: DIR appears complete or
not at all), reloads the written preset and prints its parity with the
converted model on a small random input (64x64 images, 1 s of audio).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_attention.cli.common import EXIT_OK

SEED = 0
IMAGE_SIZE = 64


def add_convert(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert a torchvision, timm or PANNs checkpoint to a preset",
        description=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "source", help="checkpoint file, https:// URL or hf://org/repo"
    )
    parser.add_argument("--model", required=True, help="zoo model name")
    parser.add_argument("--out", required=True, help="preset folder to write")
    parser.set_defaults(handler=run_convert)


def _random_input(model, backbone_config: dict):
    import numpy as np

    rng = np.random.default_rng(SEED)
    shape = list(model.input_shape[1:])
    if len(shape) == 1:  # audio: one second of samples
        length = int(backbone_config.get("sample_rate") or 16000)
        return (0.1 * rng.standard_normal((1, length))).astype("float32")
    channels_first = backbone_config.get("data_format") == "channels_first"
    filled = [IMAGE_SIZE if s is None else s for s in shape]
    filled[0 if channels_first else -1] = shape[0 if channels_first else -1]
    return rng.standard_normal((1, *filled)).astype("float32")


def parity(model, reloaded) -> tuple[float, float]:
    """`(max |Δ|, max |Δ| / max |output|)` of the two models' outputs on
    one random input, in inference mode."""
    import keras
    import numpy as np

    x = _random_input(model, model.backbone.get_config())

    def outputs(m):
        return keras.ops.convert_to_numpy(m(x, training=False))

    ours, theirs = outputs(reloaded), outputs(model)
    delta = float(np.max(np.abs(ours - theirs)))
    return delta, delta / max(float(np.max(np.abs(theirs))), 1e-30)


def run_convert(args) -> int:
    from keras_attention import zoo
    from keras_attention.zoo import download, peer_weights, peers
    from keras_attention.zoo.cards import CARD_SCHEMA

    zoo.get_spec(args.model)
    out = Path(args.out).expanduser()
    if not peers.is_checkpoint_source(args.source):
        raise ValueError(
            "Expected a checkpoint (.safetensors, .pth, .pth.tar, a URL "
            f"of one, or hf://org/repo). Received: {args.source!r}"
        )
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(
            f"The output folder {out} exists and is not empty: pass a new "
            "--out."
        )
    path = peers.fetch_checkpoint(args.source)
    model = peers.load_checkpoint(args.model, path)
    card = {
        "schema": CARD_SCHEMA,
        "model": args.model,
        "weights": "converted",
        "task": zoo.get_spec(args.model).task,
        "converted": {
            "from": args.source,
            "checkpoint_sha256": download.sha256sum(path),
        },
    }
    peer_weights.write_preset(model, out, card)
    reloaded = zoo.load(args.model, weights=str(out))
    delta, relative = parity(model, reloaded)
    print(f"Wrote {out} ({args.model} from {args.source})")
    print(
        f"parity of the written preset: max |Δ| {delta:.3g}, relative "
        f"{relative:.3g}"
    )
    return EXIT_OK
