#!/usr/bin/env bash
# The original report's model at full size, on all of MNIST: the runs behind
# results/reference/ (see its README). Usage:
#   scripts/reference-runs.sh [AELAB] [OUT] [DEVICE]
# AELAB: the binary (default target/release/aelab; a `--features tch` build for libtorch),
# OUT: where runs write (default /tmp/aelab-reference), DEVICE: --device (default auto).
# Each command's wall time and peak memory (/usr/bin/time -v) go to OUT/*.time. An
# interrupted run goes on from its last epoch when the script is started again (--resume).
set -euo pipefail
aelab=${1:-target/release/aelab}
out=${2:-/tmp/aelab-reference}
device=${3:-auto}
mkdir -p "$out/ce" "$out/mse"

timed() { # NAME COMMAND...: run COMMAND, its measurements to OUT/NAME.time
    local name=$1
    shift
    echo "== $name: $*" >&2
    /usr/bin/time -v -o "$out/$name.time" "$@"
}

# The autoencoder, L4_FS3_FL32_B64, 20 epochs on 48,000 training and 12,000 validation images.
[[ -e $out/ae.mpk ]] || timed autoencoder "$aelab" autoencoder --layers 4 --filter-size 3 \
    --filters 32 --epochs 20 --batch-size 64 --device "$device" --no-menu --resume \
    --out "$out" --save ae

# The classifier on that encoder, FC32, batch 64, 10 epochs per stage: cross-entropy, then
# the original report's mean squared error on one-hot targets.
for loss in ce mse; do
    [[ -e $out/$loss/classification_report.txt ]] || timed "classifier-$loss" "$aelab" \
        classify --model "$out/ae.mpk" --fc-units 32 --epochs 10 --batch-size 64 \
        --loss "$loss" --device "$device" --no-menu --resume --out "$out/$loss"
done
