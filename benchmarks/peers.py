"""Speed against the peers: our ResNet-50s against timm's, keras.applications'
and keras-hub's, on every backend.

Times, in one process per backend and interleaved rounds (medians):
inference (`predict_on_batch`) at batch 1 and 8, and one training step
(`train_on_batch`: SGD, sparse cross-entropy) at batch 8, of

- our `resnet50` and `cbam_resnet50` (without their preprocessor);
- `keras.applications.ResNet50(weights=None)` (ResNet v1);
- keras-hub's `ResNetBackbone` with ResNet-50's config, plus a pooled
  dense head (built from its config: no download);
- timm's `resnet50` in native PyTorch (`torch.inference_mode` for
  inference), timed in the same process and rounds as the Keras models,
  so every backend's ratios to timm come from one run.

TensorFlow and JAX are compiled (XLA / `jax.jit`), PyTorch runs eagerly.
timm's import goes through `benchmarks.peer_models.import_timm` (a
workaround for torchvision's compiled operators under CPU torch).

`--channels-first` also times our `resnet50` built `channels_first`
(`resnet50_cf`), which spares Keras' torch backend the layout conversions.

Usage:
    python -m benchmarks.peers --backend all --json out.json
    KERAS_BACKEND=torch python -m benchmarks.peers --image-size 128

This is a measurement script, not a test.
"""

from __future__ import annotations

import argparse

from benchmarks import peer_models, timing

OURS = ("resnet50", "cbam_resnet50")
APPS = "keras.applications"
HUB = "keras_hub"
TIMM = "timm"
CHANNELS_FIRST = "resnet50_cf"
MODELS = (*OURS, APPS, HUB, TIMM)
CLASSES = 1000


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.peers",
        description=__doc__.split("\n")[0],
    )
    timing.add_common_arguments(parser)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--train-batch",
        type=int,
        default=8,
        help="batch of the timed training step; 0 skips training",
    )
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="rounds")
    parser.add_argument(
        "--models", nargs="+", default=list(MODELS), choices=MODELS
    )
    parser.add_argument(
        "--channels-first",
        action="store_true",
        help=f"also time our resnet50 built channels_first ({CHANNELS_FIRST})",
    )
    args = parser.parse_args(argv)
    if args.image_size < 32:
        parser.error("--image-size must be >= 32 (ResNet-50 downsamples 32x)")
    if "resnet50" not in args.models:
        parser.error("--models must include resnet50 (the baseline)")
    return args


def _forward_args(args) -> list[str]:
    out = [
        f"--image-size={args.image_size}",
        "--batch-sizes",
        *map(str, args.batch_sizes),
        f"--train-batch={args.train_batch}",
        f"--warmup={args.warmup}",
        f"--repeats={args.repeats}",
        "--models",
        *args.models,
    ]
    out += ["--channels-first"] if args.channels_first else []
    return out + (["--no-jit"] if args.no_jit else [])


def _keras_model(name, shape, jit):
    import keras

    from keras_attention import zoo

    if name == APPS:
        model = peer_models.keras_applications_resnet50(shape, CLASSES)
    elif name == HUB:
        model = peer_models.keras_hub_resnet50(shape, CLASSES)
    else:
        options = {}
        if name == CHANNELS_FIRST:
            name, options = "resnet50", {"data_format": "channels_first"}
            shape = (shape[2], *shape[:2])
        task = zoo.load(name, weights=None, input_shape=shape, **options)
        model = keras.Model(task.input, task.output, name=name)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit,
    )
    return model


def build_models(args, jit) -> dict:
    names = [m for m in args.models if m != TIMM]
    if args.channels_first:
        names.append(CHANNELS_FIRST)
    size = args.image_size
    models = {n: _keras_model(n, (size, size, 3), jit) for n in names}
    if TIMM in args.models:
        models[TIMM] = peer_models.timm_resnet50(CLASSES)
    return models


def _inputs(name, batch, size, rng):
    """Channels-last numpy for Keras, NCHW torch tensors for timm."""
    import numpy as np

    x = rng.uniform(-2, 2, (batch, size, size, 3)).astype("float32")
    y = rng.integers(0, CLASSES, batch)
    if name == TIMM:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        return x, torch.from_numpy(y)
    if name == CHANNELS_FIRST:
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), y
    return x, y


def _calls(models, mode, batch, size):
    import numpy as np

    calls = {}
    for name, model in models.items():
        x, y = _inputs(name, batch, size, np.random.default_rng(0))
        if mode == "predict":
            calls[name] = lambda m=model, x=x: m.predict_on_batch(x)
        else:
            if name == TIMM:
                model = peer_models.TorchModel(model.module, train=True)
            calls[name] = lambda m=model, x=x, y=y: m.train_on_batch(x, y)
    return calls


def run_here(args) -> dict:
    import keras

    backend = keras.backend.backend()
    jit = timing.jit_compile(args.no_jit)
    models = build_models(args, jit)
    cases = [("predict", b) for b in args.batch_sizes]
    if args.train_batch:
        cases.append(("train", args.train_batch))
    results = []
    for mode, batch in cases:
        calls = _calls(models, mode, batch, args.image_size)
        times = timing.time_calls(calls, args.warmup, args.repeats)
        rows = timing.medians_ms(times, "resnet50")
        peer = rows.get(TIMM)
        for name, row in rows.items():
            results.append(
                {
                    "backend": TIMM if name == TIMM else backend,
                    "model": name,
                    "mode": mode,
                    "batch": batch,
                    "ms": row["ms"],
                    "cpu_ms": row["cpu_ms"],
                    "ratio_to_resnet50": row["ratio"],
                    "cpu_ratio_to_resnet50": row["cpu_ratio"],
                    "ratio_to_timm": row["ms"] / peer["ms"] if peer else None,
                    "cpu_ratio_to_timm": (
                        row["cpu_ms"] / peer["cpu_ms"] if peer else None
                    ),
                    "samples_ms": row["samples_ms"],
                    "samples_cpu_ms": row["samples_cpu_ms"],
                }
            )
    return timing.report(
        __file__,
        _forward_args(args),
        jit,
        args,
        image_size=args.image_size,
        input_shape=[args.image_size, args.image_size, 3],
        batch_sizes=list(args.batch_sizes),
        train_batch=args.train_batch,
        results=results,
    )


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def ratio_table(reports: list[dict]) -> str:
    """One row per backend, mode and batch: each model's wall (CPU) time
    over timm's, and CBAM over plain."""
    lines = [
        "| backend | mode | batch | timm ms | resnet50 / timm "
        "| cbam_resnet50 / timm | resnet50 channels_first / timm "
        "| keras.applications / timm | keras_hub / timm | cbam / plain |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for report in reports:
        groups = {}
        for row in report["results"]:
            groups.setdefault((row["mode"], row["batch"]), {})[row["model"]] = (
                row
            )
        for (mode, batch), rows in groups.items():
            cells = []
            for name in (*OURS, CHANNELS_FIRST, APPS, HUB):
                row = rows.get(name)
                cells.append(
                    "-"
                    if row is None or row["ratio_to_timm"] is None
                    else f"{row['ratio_to_timm']:.2f} "
                    f"({row['cpu_ratio_to_timm']:.2f})"
                )
            cbam = rows.get("cbam_resnet50")
            timm = rows.get(TIMM)
            lines.append(
                f"| {report['backend']} | {mode} | {batch} | "
                f"{_fmt(timm and timm['ms'])} | {' | '.join(cells)} | "
                f"{_fmt(cbam and cbam['ratio_to_resnet50'])} |"
            )
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    reports, command = timing.reports_for(
        __file__, args.backend, _forward_args(args), lambda: run_here(args)
    )
    print(
        f"ResNet-50 at {args.image_size}x{args.image_size}: wall-clock "
        "(CPU) time over timm's in the same process, medians of "
        f"{args.repeats} interleaved rounds after {args.warmup} warm-up "
        f"call(s); {reports[0]['machine']}.\n"
    )
    print(ratio_table(reports))
    print(f"\nCommand: {command}")
    timing.write_json(args.json, command, reports)


if __name__ == "__main__":
    main()
