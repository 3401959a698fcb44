#!/usr/bin/env bash
# The attention ablations, each model trained by the same recipe with the
# same budget, one after the other (never in parallel), published under
# zoo/<model>/<dataset>/ and then evaluated from its published files (which
# fills in the card).
#
# Images: resnet18, se_, cbam_, eca_ and bam_resnet18 on Fashion-MNIST.
#   bash training/train_ablation.sh            # the published budget below
#   EPOCHS=60 EXTRA_ARGS="--image-size 64" bash training/train_ablation.sh   # full budget (not run)
# Audio: cnn10, se_, cbam_, eca_ and bam_cnn10 on the instrument dataset
# (build it first: python -m training.build_instrument_dataset).
#   RECIPE=audio bash training/train_ablation.sh
#
# Rerunning resumes: a model whose run finished is re-exported at once (its
# backup says so), an interrupted one continues after its last finished
# epoch. Logs: runs/ablation/<dataset>/<model>.log; the run folders (backups, CSV log,
# curves.png, float32 preset): runs/<model>/<dataset>/.
set -u
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
# TensorFlow: measured fastest on this CPU (see training/README.md).
export KERAS_BACKEND=${KERAS_BACKEND:-tensorflow}
export PYTHONUNBUFFERED=1
RECIPE=${RECIPE:-image}
if [ "$RECIPE" = audio ]; then
  MODELS=${MODELS:-"cnn10 se_cnn10 cbam_cnn10 eca_cnn10 bam_cnn10"}
  MODULE=training.train_audio
  WEIGHTS=instruments
  EPOCHS=${EPOCHS:-1}
  BATCH_SIZE=${BATCH_SIZE:-32}
  TRAIN_SUBSET=
  # The first 0.5 s of every note; LR 1e-3 (PANNs' Adam LR); less dropout
  # than PANNs (0.5 / 0.2), which slows learning too much for one epoch.
  EXTRA_ARGS=${EXTRA_ARGS:-"--clip-seconds 0.5 --lr 1e-3 --warmup-epochs 0.1 --dropout 0.2 --block-dropout 0"}
else
  MODELS=${MODELS:-"resnet18 se_resnet18 cbam_resnet18 eca_resnet18 bam_resnet18"}
  MODULE=training.train_image
  WEIGHTS=fashion_mnist
  EPOCHS=${EPOCHS:-8}
  BATCH_SIZE=${BATCH_SIZE:-128}
  # Images of the training split used per epoch ("" = all 55,000).
  TRAIN_SUBSET=${TRAIN_SUBSET-}
  EXTRA_ARGS=${EXTRA_ARGS:-}
fi
# EVALUATE=0 skips the evaluation (run python -m training.evaluate later).
EVALUATE=${EVALUATE:-1}

LOG_DIR=runs/ablation/$WEIGHTS
mkdir -p "$LOG_DIR"
status=0
for model in $MODELS; do
  log="$LOG_DIR/$model.log"
  echo "=== $model: train $(date -u +%FT%TZ) (backend $KERAS_BACKEND)" | tee -a "$LOG_DIR/summary.txt"
  args=(--model "$model" --epochs "$EPOCHS" --batch-size "$BATCH_SIZE" --verbose 2)
  if [ -n "$TRAIN_SUBSET" ]; then
    args+=(--train-subset "$TRAIN_SUBSET")
  fi
  # shellcheck disable=SC2086
  if ! "$PYTHON" -m "$MODULE" "${args[@]}" $EXTRA_ARGS >>"$log" 2>&1; then
    echo "=== $model: TRAINING FAILED (see $log)" | tee -a "$LOG_DIR/summary.txt"
    status=1
    continue
  fi
  if [ "$EVALUATE" = 0 ]; then
    continue
  fi
  echo "=== $model: evaluate $(date -u +%FT%TZ)" | tee -a "$LOG_DIR/summary.txt"
  if ! "$PYTHON" -m training.evaluate "zoo/$model/$WEIGHTS" >>"$log" 2>&1; then
    echo "=== $model: EVALUATION FAILED or out of tolerance (see $log)" | tee -a "$LOG_DIR/summary.txt"
    status=1
  fi
  grep -E "test accuracy|float32 reference|bundled sample" "$log" | tail -3 | tee -a "$LOG_DIR/summary.txt"
done
echo "=== done $(date -u +%FT%TZ) status $status" | tee -a "$LOG_DIR/summary.txt"
exit $status
