"""Full-size parity of converted torchvision/timm checkpoints.

For each peer model (timm's or torchvision's own code, at random init with
random BN statistics, as in `tests/test_convert_image.py`), saves its
checkpoint as safetensors, converts it with `zoo.load(name, weights=...)`
and compares the logits of both on the same random 224x224 images in
inference mode. Reports the max absolute and max relative difference
(`max |ours - peer| / max |peer|`) per model.

Usage:
    KERAS_BACKEND=jax python -m benchmarks.peer_parity
    python -m benchmarks.peer_parity --backend all --json parity.json
    python -m benchmarks.peer_parity --models resnet18 legacy_seresnet50

Needs timm (the `dev` extra). This is a measurement script, not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import timing

# peer model -> (our model, timm.create_model arguments)
MODELS = {
    "torchvision.resnet18": ("resnet18", {}),
    "torchvision.resnet50": ("resnet50", {}),
    "resnet34": ("resnet34", {}),
    "resnet101": ("resnet101", {}),
    "seresnet50": ("se_resnet50", {}),
    "legacy_seresnet18": ("se_resnet18", {}),
    "legacy_seresnet34": ("se_resnet34", {}),
    "legacy_seresnet50": ("se_resnet50", {}),
    "legacy_seresnet101": ("se_resnet101", {}),
    "ecaresnet50": ("eca_resnet50", {"block_args": {"attn_layer": "eca"}}),
}
DEFAULT = (
    "torchvision.resnet18",
    "torchvision.resnet50",
    "seresnet50",
    "legacy_seresnet18",
    "legacy_seresnet50",
    "ecaresnet50",
)


def _peers():
    tests = Path(__file__).resolve().parents[1] / "tests"
    sys.path.insert(0, str(tests))
    from helpers import peers

    return peers


def parity(peer_name: str, size: int, batch: int, seed: int) -> dict:
    import keras
    import numpy as np

    from keras_attention import zoo

    peers = _peers()
    ours, peer_args = MODELS[peer_name]
    timm_name = "resnet50" if peer_name == "ecaresnet50" else peer_name
    start = time.perf_counter()
    peer = peers.peer_model(
        timm_name, num_classes=1000, seed=seed, image_size=size, **peer_args
    )
    images = np.random.default_rng(seed).standard_normal(
        (batch, size, size, 3), dtype=np.float32
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{peer_name}.safetensors"
        peers.save_safetensors(peer, path)
        model = zoo.load(ours, weights=str(path))
    theirs = peers.peer_logits(peer, images)
    mine = keras.ops.convert_to_numpy(model(images, training=False))
    diff = np.abs(mine - theirs)
    return {
        "peer": peer_name,
        "model": ours,
        "max_abs_diff": float(diff.max()),
        "max_rel_diff": float(diff.max() / np.abs(theirs).max()),
        "max_abs_logit": float(np.abs(theirs).max()),
        "argmax_agree": float((mine.argmax(1) == theirs.argmax(1)).mean()),
        "seconds": time.perf_counter() - start,
    }


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT))
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    timing.add_common_arguments(parser)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; known: {sorted(MODELS)}")
    forward = ["--models", *args.models, f"--size={args.size}"]
    forward += [f"--batch={args.batch}", f"--seed={args.seed}"]

    def run_here():
        import keras

        rows = [
            parity(m, args.size, args.batch, args.seed) for m in args.models
        ]
        backend = keras.backend.backend()
        return {
            "command": timing.command_line(__file__, backend, forward),
            "backend": backend,
            "keras": keras.__version__,
            "image_size": args.size,
            "batch": args.batch,
            "machine": timing.machine(),
            "results": rows,
        }

    reports, command = timing.reports_for(
        __file__, args.backend, forward, run_here
    )
    print("| backend | peer | ours | max rel diff | max abs diff |")
    print("|---|---|---|---|---|")
    for report in reports:
        for row in report["results"]:
            print(
                f"| {report['backend']} | {row['peer']} | {row['model']} | "
                f"{row['max_rel_diff']:.2e} | {row['max_abs_diff']:.2e} |"
            )
    timing.write_json(args.json, command, reports)
    return reports


if __name__ == "__main__":
    main()
