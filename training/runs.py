"""Run folders and outputs: a run folder is only resumed by the same
recipe, output folders are checked before training, and a trained model
becomes a float32 preset plus the published preset with its model card."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import keras

from training import publish
from training.fitting import (
    export_copy,
)
from training.parser import (
    DEFAULTS,
    RecipeError,
)


def fingerprint(recipe: dict) -> str:
    text = json.dumps(recipe, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def prepare_run_dir(run_dir: Path, recipe: dict, fresh: bool) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe_path = run_dir / "recipe.json"
    backup = run_dir / "backup"
    digest = fingerprint(recipe)
    if fresh:
        shutil.rmtree(backup, ignore_errors=True)
        (run_dir / "log.csv").unlink(missing_ok=True)
    elif backup.exists() and recipe_path.exists():
        old = json.loads(recipe_path.read_text())
        if old.get("fingerprint") != digest:
            changed = sorted(
                k for k in recipe if old.get("recipe", {}).get(k) != recipe[k]
            )
            raise RecipeError(
                f"{run_dir} holds a backup of a run with other arguments "
                f"(changed: {', '.join(changed)}). Pass --fresh to discard "
                f"it, or another --run-dir."
            )
    elif not backup.exists():
        (run_dir / "log.csv").unlink(missing_ok=True)
    publish.write_json(recipe_path, {"fingerprint": digest, "recipe": recipe})


def resolve_run_arguments(args, dataset_key: str):
    """Fills in the shared defaults that depend on other arguments and
    checks that the output folders can be written."""
    if args.lr is None:
        args.lr = DEFAULTS[args.optimizer]["lr"]
    if args.weight_decay is None:
        args.weight_decay = DEFAULTS[args.optimizer]["weight_decay"]
    if args.weights_name is None:
        args.weights_name = dataset_key
    if args.run_dir is None:
        args.run_dir = str(
            publish.REPO_ROOT / "runs" / args.model / args.weights_name
        )
    if args.output is None:
        args.output = str(
            publish.REPO_ROOT / "zoo" / args.model / args.weights_name
        )
    if args.verbose is None:
        args.verbose = 1 if sys.stdout.isatty() else 2
    check_output_dirs(args)
    return args


def _writable_dir_problem(path: Path) -> str | None:
    """Why `path` cannot be (or become) a directory we write into, or
    None: it is a file, a parent is a file, or the nearest existing
    folder is not writable."""
    if path.exists() and not path.is_dir():
        return "is a file, not a directory"
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing != path and not existing.is_dir():
        return f"cannot be created: {existing} is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"is not writable ({existing} does not allow writing)"
    return None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_dirs(args) -> None:
    """Raises `RecipeError` naming the argument and the path when
    `--run-dir` or `--output` (unless `--no-publish`) cannot be written,
    or when writing one would delete the other: checked before any
    training (`--output` only where it is written: not with
    `--no-publish` or `--cross-validation`). `--output` is replaced as a
    whole at the end, so it must be a preset folder, an empty one or a new
    one."""
    run_dir = Path(args.run_dir).expanduser().resolve()
    problems = [("--run-dir", run_dir, _writable_dir_problem(run_dir))]
    publishes = not (args.no_publish or getattr(args, "cross_validation", 0))
    if publishes:
        out = Path(args.output).expanduser().resolve()
        problem = _writable_dir_problem(out)
        if problem is None and _inside(run_dir, out):
            problem = f"holds --run-dir {run_dir} (it would be deleted)"
        if problem is None and _inside(out, run_dir / "preset_float32"):
            problem = "lies inside --run-dir's preset_float32"
        if (
            problem is None
            and out.is_dir()
            and any(out.iterdir())
            and not (out / "config.json").is_file()
        ):
            problem = (
                "is a folder that holds no preset; it would be replaced "
                "as a whole (pass an empty or new folder)"
            )
        problems.append(("--output", out, problem))
    for name, path, problem in problems:
        if problem:
            raise RecipeError(f"{name} {path} {problem}")


def export_presets(args, model, card: dict) -> dict:
    """Saves the trained `model` (without optimizer state) as a float32
    preset in `<run-dir>/preset_float32` and, unless `--no-publish`, the
    published preset in `--output` with its weights stored as
    `--storage`; writes `card` next to each. Returns their paths."""
    export = export_copy(model)
    preset32 = Path(args.run_dir) / "preset_float32"
    if preset32.exists():
        shutil.rmtree(preset32)
    export.save_to_preset(str(preset32))
    card = dict(card)
    card["storage"] = {
        "weights_dtype_on_disk": "float32",
        "variables_dtype": "float32",
    }
    card["files"] = publish.file_table(preset32)
    publish.write_card(preset32, card)
    paths = {"preset_float32": str(preset32), "published": None}
    if args.no_publish:
        return paths
    out = Path(args.output)
    publish.copy_preset(preset32, out, weights_dtype=args.storage)
    card["storage"] = {
        "weights_dtype_on_disk": args.storage,
        "variables_dtype": "float32",
        "note": (
            "Keras casts the stored values to the float32 variables when "
            "loading"
        ),
        "float32_reference": {
            "path": publish.relative_to_repo(preset32),
            "test_accuracy": None,
        },
        "tolerance_points": 0.1,
    }
    card["files"] = publish.file_table(out)
    publish.write_card(out, card)
    too_big = publish.check_file_sizes(out)
    if too_big:
        print(f"WARNING: files over 25 MiB in {out}: {too_big}")
    paths["published"] = str(out)
    return paths


def print_outputs(result: dict) -> None:
    print(f"log: {result['log']}")
    print(f"curves: {result['plot']}")
    print(f"float32 preset: {result['preset_float32']}")
    target = result["published"] or result["preset_float32"]
    if result["published"]:
        print(f"published preset: {result['published']}")
    print(
        f"next: python -m training.evaluate {publish.relative_to_repo(target)}"
    )


def recipe_command(module: str, args) -> str:
    """The command line that reproduces a run (for the model card)."""
    import shlex

    return "KERAS_BACKEND={} python -m {} {}".format(
        keras.backend.backend(),
        module,
        " ".join(shlex.quote(a) for a in getattr(args, "argv", [])),
    )


def card_frame(args, task: str, architecture: dict, license_: dict) -> tuple:
    """The parts of a model card both recipes share: `(head, tail)` dicts
    to put around the task's own entries."""
    head = {
        "schema": publish.CARD_SCHEMA,
        "model": args.model,
        "weights": args.weights_name,
        "default": not args.not_default,
        "task": task,
        "architecture": architecture,
    }
    tail = {
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "git": publish.git_commit(),
        "epochs": args.epochs,
        "license": license_,
        "metrics": None,
        "storage": None,
        "files": {},
    }
    return head, tail


def finish_run(args, model, fitted: dict, card: dict, start: float) -> dict:
    """Adds the run's epochs and wall time to `card`, exports the presets
    and returns the recipe's result dict."""
    rows = fitted["rows"]
    card["epochs_run"] = len(rows)
    card["final_epoch"] = rows[-1] if rows else None
    card["wall_time_seconds"] = round(time.perf_counter() - start, 1)
    return {
        "run_dir": str(args.run_dir),
        "log": fitted["log"],
        "plot": fitted["plot"],
        "history": fitted["history"].history,
        **export_presets(args, model, card),
    }


def run_main(parser, resolve, run, argv, errors) -> int:
    """The recipes' `main`: parse, resolve (bad arguments exit 2 with a
    usage message), run; `errors` are reported in one line, exit 2."""
    import sys

    args = parser.parse_args(argv)
    try:
        args = resolve(args)
    except RecipeError as error:
        parser.error(str(error))
    args.argv = argv
    try:
        return run(args)
    except (RecipeError, *errors) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def check_model_task(model_name: str, task: str) -> None:
    """Raises `RecipeError` unless `model_name` is a registered `task`
    model (an unknown name suggests the closest ones)."""
    from keras_attention import zoo

    try:
        spec = zoo.get_spec(model_name)
    except ValueError as error:
        raise RecipeError(str(error)) from None
    if spec.task != task:
        raise RecipeError(
            f"--model {model_name!r} is a {spec.task} model; this recipe "
            f"trains {task} models: {', '.join(zoo.list_models(task=task))}"
        )
