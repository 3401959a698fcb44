"""Write the bundled Fashion-MNIST sample used by the demo and the tests.

    python -m training.make_samples [--data-dir DIR] [--per-class 30]

Takes the first `--per-class` images of each class from the Fashion-MNIST
TEST files (t10k, in file order: deterministic) and writes
`keras_attention/data/samples/fashion_mnist_sample.npz` with `images`
(uint8, n x 28 x 28 x 1, raw [0, 255]), `labels` (int32), `indices`
(positions in the t10k files) and `class_names`. Fashion-MNIST is MIT-licensed
(https://github.com/zalandoresearch/fashion-mnist).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from training import image_data, publish

DEFAULT_OUT = (
    publish.REPO_ROOT
    / "keras_attention"
    / "data"
    / "samples"
    / "fashion_mnist_sample.npz"
)
MAX_BYTES = 300 * 1024


def make_sample(x_test, y_test, per_class: int) -> dict:
    """The first `per_class` test images of each class, in file order."""
    indices = np.sort(
        np.concatenate(
            [
                np.flatnonzero(y_test == label)[:per_class]
                for label in range(len(image_data.FASHION_MNIST_CLASSES))
            ]
        )
    )
    return {
        "images": np.ascontiguousarray(x_test[indices], dtype=np.uint8),
        "labels": y_test[indices].astype(np.int32),
        "indices": indices.astype(np.int32),
        "class_names": np.array(image_data.FASHION_MNIST_CLASSES),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.make_samples",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--data-dir", default=None)
    p.add_argument("--per-class", type=int, default=30)
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    if args.per_class < 1:
        p.error(f"--per-class must be >= 1, got {args.per_class}")
    try:
        _, (x_test, y_test), folder = image_data.load_fashion_mnist_arrays(
            args.data_dir
        )
    except image_data.DatasetNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sample = make_sample(x_test, y_test, args.per_class)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **sample)
    size = out.stat().st_size
    print(
        f"{out}: {len(sample['labels'])} images from {folder} "
        f"({size} bytes, sha256 {publish.sha256_of(out)})"
    )
    if size > MAX_BYTES:
        print(f"error: {out} is over {MAX_BYTES} bytes", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
