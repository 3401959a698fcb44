#!/usr/bin/env bash
# The attention ablation: resnet18, se_, cbam_, eca_ and bam_resnet18 trained
# on Fashion-MNIST by the same recipe with the same budget, one after the
# other (never in parallel), each published under zoo/<model>/fashion_mnist/
# and then evaluated from its published files (which fills in the card).
#
#   bash training/train_ablation.sh            # the budget below
#   EPOCHS=60 TRAIN_SUBSET= bash training/train_ablation.sh   # full budget
#
# Rerunning resumes: a model whose run finished is re-exported at once (its
# backup says so), an interrupted one continues after its last finished
# epoch. Logs: runs/ablation/<model>.log; the run folders (backups, CSV log,
# curves.png, float32 preset): runs/<model>/fashion_mnist/.
set -u
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
# TensorFlow: measured fastest on this CPU (see training/README.md).
export KERAS_BACKEND=${KERAS_BACKEND:-tensorflow}
export PYTHONUNBUFFERED=1
MODELS=${MODELS:-"resnet18 se_resnet18 cbam_resnet18 eca_resnet18 bam_resnet18"}
EPOCHS=${EPOCHS:-3}
BATCH_SIZE=${BATCH_SIZE:-128}
# Images of the training split used per epoch ("" = all 55,000).
TRAIN_SUBSET=${TRAIN_SUBSET-23040}
EXTRA_ARGS=${EXTRA_ARGS:-}

LOG_DIR=runs/ablation
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
  if ! "$PYTHON" training/train_image.py "${args[@]}" $EXTRA_ARGS >>"$log" 2>&1; then
    echo "=== $model: TRAINING FAILED (see $log)" | tee -a "$LOG_DIR/summary.txt"
    status=1
    continue
  fi
  echo "=== $model: evaluate $(date -u +%FT%TZ)" | tee -a "$LOG_DIR/summary.txt"
  if ! "$PYTHON" training/evaluate.py "zoo/$model/fashion_mnist" >>"$log" 2>&1; then
    echo "=== $model: EVALUATION FAILED or out of tolerance (see $log)" | tee -a "$LOG_DIR/summary.txt"
    status=1
  fi
  grep -E "test accuracy|float32 reference|bundled sample" "$log" | tail -3 | tee -a "$LOG_DIR/summary.txt"
done
echo "=== done $(date -u +%FT%TZ) status $status" | tee -a "$LOG_DIR/summary.txt"
exit $status
