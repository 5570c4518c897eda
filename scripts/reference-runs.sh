#!/usr/bin/env bash
# The default model (L4 FS3 FL32) at full size, on all of MNIST: the runs behind
# results/reference/ (see its README), with the original report's recipe and with the better
# one. Usage:
#   scripts/reference-runs.sh [AELAB] [OUT] [DEVICE] [RECIPES]
# AELAB: the binary (default target/release/aelab; a `--features tch` build for libtorch),
# OUT: where runs write (default /tmp/aelab-reference), DEVICE: --device (default auto),
# RECIPES: report, better or both (default both; the better one writes under OUT/better).
# Each command's wall time and peak memory (/usr/bin/time -v) go to *.time beside its
# results. An interrupted run goes on from its last epoch when the script is started again
# (--resume); finished runs are skipped.
set -euo pipefail
aelab=${1:-target/release/aelab}
out=${2:-/tmp/aelab-reference}
device=${3:-auto}
recipes=${4:-both}

timed() { # DIR NAME COMMAND...: run COMMAND, its measurements to DIR/NAME.time
    local dir=$1 name=$2
    shift 2
    echo "== $dir/$name: $*" >&2
    /usr/bin/time -v -o "$dir/$name.time" "$@"
}

# The original report's recipe: the autoencoder for 20 epochs at RMSprop's constant 0.001,
# its last epoch kept; the classifier FC32, 10 epochs per stage, both at 0.001, with
# cross-entropy and with the report's mean squared error on one-hot targets.
report() {
    mkdir -p "$out/ce" "$out/mse"
    [[ -e $out/ae.mpk ]] || timed "$out" autoencoder "$aelab" autoencoder --layers 4 \
        --filter-size 3 --filters 32 --epochs 20 --batch-size 64 --device "$device" \
        --no-menu --resume --out "$out" --save ae
    for loss in ce mse; do
        [[ -e $out/$loss/classification_report.txt ]] || timed "$out" "classifier-$loss" \
            "$aelab" classify --model "$out/ae.mpk" --fc-units 32 --epochs 10 --batch-size 64 \
            --loss "$loss" --device "$device" --no-menu --resume --out "$out/$loss"
    done
}

# The better recipe, chosen on validation figures (results/reference/README.md says how):
# the autoencoder for 30 epochs of batch 8 on a cosine decay from 0.0005, its best epoch
# on validation kept; the classifier on that encoder for 20 epochs per stage, each on a
# cosine decay from 0.001, with dropout 0.5 before the fully connected layer, random
# shifts, rotations and zoom, and the best epoch of each stage kept.
better() {
    local dir=$out/better
    mkdir -p "$dir/ce"
    [[ -e $dir/ae.mpk ]] || timed "$dir" autoencoder "$aelab" autoencoder --layers 4 \
        --filter-size 3 --filters 32 --epochs 30 --batch-size 8 --lr 0.0005 \
        --lr-schedule cosine --keep best --device "$device" --no-menu --resume --out "$dir" --save ae
    [[ -e $dir/ce/classification_report.txt ]] || timed "$dir" classifier-ce "$aelab" \
        classify --model "$dir/ae.mpk" --fc-units 32 --epochs 20 --batch-size 64 --loss ce \
        --lr-schedule cosine --keep best --dropout 0.5 --shift 0.1 --rotation 10 --zoom 0.1 \
        --device "$device" --no-menu --resume --out "$dir/ce"
}

case $recipes in
    report) report ;;
    better) better ;;
    both) report && better ;;
    *) echo "reference-runs.sh: RECIPES must be report, better or both (got '$recipes')" >&2; exit 2 ;;
esac
