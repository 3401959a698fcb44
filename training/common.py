"""Recipe machinery shared by `train_image.py` and `train_audio.py`, split
by concern into `training.backup`, `training.parser`, `training.fitting`
and `training.runs`; this module re-exports their names.

The optimizer (AdamW or SGD with decoupled weight decay, warmup then
cosine decay), the per-epoch stats callback, the CSV log and its PNG plot,
run folders whose backups are only resumed by the same recipe, and the
export of a trained model as a float32 preset plus the published
(float16-on-disk) preset with its model card.
"""

from training.backup import (
    BACKUP_METADATA,
    BACKUP_PATTERN,
    LEGACY_WEIGHTS,
    PARTIAL_PREFIX,
    PAUSE_ENV,
    Backup,
    backup_candidates,
    backup_name,
    read_log,
    resumed_epoch,
    trim_log,
)
from training.fitting import (
    EpochStats,
    export_copy,
    fit_run,
    float32_config,
    make_optimizer,
    plot_curves,
    precision_overrides,
)
from training.parser import (
    DEFAULTS,
    DTYPE_POLICIES,
    NO_DECAY,
    RecipeError,
    add_run_arguments,
    check_all,
    recipe_parser,
    run_argument_checks,
    schedule_text,
)
from training.runs import (
    card_frame,
    check_model_task,
    check_output_dirs,
    export_presets,
    fingerprint,
    finish_run,
    prepare_run_dir,
    print_outputs,
    recipe_command,
    resolve_run_arguments,
    run_main,
)

__all__ = [
    "Backup",
    "backup_candidates",
    "BACKUP_METADATA",
    "backup_name",
    "BACKUP_PATTERN",
    "LEGACY_WEIGHTS",
    "PARTIAL_PREFIX",
    "PAUSE_ENV",
    "read_log",
    "resumed_epoch",
    "trim_log",
    "add_run_arguments",
    "check_all",
    "DEFAULTS",
    "DTYPE_POLICIES",
    "NO_DECAY",
    "recipe_parser",
    "RecipeError",
    "run_argument_checks",
    "schedule_text",
    "EpochStats",
    "export_copy",
    "fit_run",
    "float32_config",
    "make_optimizer",
    "plot_curves",
    "precision_overrides",
    "card_frame",
    "check_model_task",
    "check_output_dirs",
    "export_presets",
    "fingerprint",
    "finish_run",
    "prepare_run_dir",
    "print_outputs",
    "recipe_command",
    "resolve_run_arguments",
    "run_main",
]
