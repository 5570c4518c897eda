#!/usr/bin/env bash
# aelab against a peer (the same autoencoder in Keras or PyTorch, benches/peers/), side by
# side on one machine: R rounds, each running aelab and the peer once (the order swapped every
# round, so a slow drift of the machine's load hits both alike), on the same images with the
# same layers, optimizer and batch size. Prints each one's median seconds per epoch and per
# step, its peak memory, and the ratio aelab/peer. With more than one epoch the first is
# reported apart as warm-up (the peers trace or allocate their graphs) and "epoch" is the
# median of the later ones.
#
#   scripts/compare.sh [--peer keras|torch] [--device D] [--images N] [--epochs E]
#                      [--rounds R] [--layers L] [--filters F] [--filter-size K] [--batch-size B]
#   defaults: --peer keras --device cpu --images 60000 --epochs 1 --rounds 1: one full epoch
#   of the default model L4 FS3 FL32 B64 (48,000 training + 12,000 validation images), about
#   25 minutes on a 2-core CPU with flex. Short windows flatter aelab (the peers' start-up
#   weighs more there): judge on full epochs, and use --rounds 3 for medians.
#
# --device is aelab's (cpu, libtorch, cuda, libtorch-cuda, ...); the torch peer runs on the
# GPU too when it names a CUDA device (Keras stays on the CPU).
#
# aelab trains on the first N images of data/mnist/train-images-idx3-ubyte.gz, split 80/20,
# and each of its epochs (`epoch e/E ... S s`) includes validating the 20%; each peer gets the
# same counts (--images 0.8N --val-images 0.2N) and validates too, in batches of 256 as aelab
# does. Per step = epoch seconds / training steps (ceil(0.8N / B)) for both, so validation
# is spread over the steps alike; the peer's own median step (training only) is shown too.
#
# The peers are not part of the tests or CI. Install one (or both) first, e.g.:
#   pip install tensorflow-cpu        # --peer keras (Keras 3 on TensorFlow; 2.21 measured)
#   pip install torch                 # --peer torch (PyPI's wheel bundles CUDA, ~4 GB on
#                                     # disk; the CPU-only wheel is on PyTorch's own index:
#                                     # pip install torch --index-url https://download.pytorch.org/whl/cpu)
#
# Environment: PYTHON (default python3; for the torch peer, e.g. the venv that
# scripts/setup-libtorch.sh makes, with numpy added); PEER_THREADS (the peer's --threads, default 0: the
# library's default, all cores; on a busy machine PyTorch's OpenMP threads slow down a lot,
# so try 1 there); AELAB (the aelab binary, default
# $CARGO_TARGET_DIR/release/aelab, CARGO_TARGET_DIR defaulting to target). Builds nothing
# (cargo build --release) unless that binary is missing.
set -euo pipefail

peer=keras device=cpu images=60000 epochs=1 rounds=1 layers=4 filters=32 filter_size=3 batch=64
while (($#)); do
    case $1 in
    --peer) peer=$2 ;;
    --device) device=$2 ;;
    --images) images=$2 ;;
    --epochs) epochs=$2 ;;
    --rounds) rounds=$2 ;;
    --layers) layers=$2 ;;
    --filters) filters=$2 ;;
    --filter-size) filter_size=$2 ;;
    --batch-size) batch=$2 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "error: unknown argument $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift 2
done
case $peer in keras | torch) ;; *)
    echo "error: --peer must be keras or torch" >&2
    exit 2
    ;;
esac
if ((epochs < 1 || images < 2 || rounds < 1)); then
    echo "error: need --epochs >= 1, --images >= 2, --rounds >= 1" >&2
    exit 2
fi

cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
bin=${AELAB:-${CARGO_TARGET_DIR:-target}/release/aelab}
if [[ ! -x $bin ]]; then
    [[ -z ${AELAB:-} ]] || { echo "error: AELAB=$bin is not an executable" >&2; exit 2; }
    cargo build --release
fi

# aelab's split (src/data/dataset.rs): ceil(20%) validate, at least 1 and at most N-1.
valid=$(((images + 4) / 5))
((valid < 1)) && valid=1
((valid > images - 1)) && valid=$((images - 1))
train=$((images - valid))
steps=$(((train + batch - 1) / batch))

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { # the failed run's output (the peers' libraries chatter on stderr, so it is kept aside)
    echo "error: the $1 run failed:" >&2
    cat "$tmp/$1.log" "$tmp/$1.err" >&2
    exit 1
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
peak() { # the peak resident memory of the command that follows, in MB, appended to $tmp/$1.mem
    local who=$1
    shift
    /usr/bin/time -f %M -o "$tmp/$who.rss" "$@" && echo $(($(tail -1 "$tmp/$who.rss") / 1024)) >>"$tmp/$who.mem"
}
case $device in *cuda* | gpu) peer_device=cuda ;; *) peer_device=cpu ;; esac

run_aelab() { # appends "epoch seconds" lines to $tmp/aelab.txt
    peak aelab "$bin" autoencoder --limit "$images" --epochs "$epochs" --layers "$layers" \
        --filters "$filters" --filter-size "$filter_size" --batch-size "$batch" \
        --no-menu --device "$device" --out "$tmp/out" >"$tmp/aelab.log" 2>"$tmp/aelab.err" ||
        fail aelab
    # "epoch 2/2  loss 0.01234  val_loss 0.01111  41.3 s"
    awk '$1 == "epoch" && $NF == "s" { split($2, e, "/"); print e[1], $(NF - 1) }' \
        "$tmp/aelab.log" >>"$tmp/aelab.txt"
}

run_peer() { # appends "epoch seconds step_median" lines to $tmp/peer.txt
    local on_device=()
    [[ $peer == torch ]] && on_device=(--device "$peer_device")
    peak peer "$python" "benches/peers/${peer}_ae.py" --layers "$layers" --filters "$filters" \
        --filter-size "$filter_size" --batch-size "$batch" --images "$train" \
        --val-images "$valid" --epochs "$epochs" --threads "${PEER_THREADS:-0}" "${on_device[@]}" \
        >"$tmp/peer.log" 2>"$tmp/peer.err" || fail peer
    grep -m1 '^peer ' "$tmp/peer.log" >"$tmp/peer-version"
    awk '$1 == "epoch" { for (i = 1; i < NF; i++) v[$i] = $(i + 1)
                         print v["epoch"], v["epoch_seconds"], v["step_seconds"] }' \
        "$tmp/peer.log" >>"$tmp/peer.txt"
}

echo "L$layers FS$filter_size FL$filters B$batch, $images images: $train train ($steps steps)" \
    "+ $valid validation, $epochs epochs, $rounds rounds; aelab (--device $device) vs $peer"
echo "load average at start: $(load)"
for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then order="aelab peer"; else order="peer aelab"; fi
    for who in $order; do
        "run_$who"
        echo "round $r: $who done, last epoch $(tail -1 "$tmp/$who.txt" | cut -d' ' -f2) s (load $(load))"
    done
done
echo "load average at end: $(load)"
cat "$tmp/peer-version"

# median of column $2 over the lines whose epoch ($1) is warm-up (==1) or not (>1); with a
# single epoch per run, "rest" is epoch 1 too
median() { # file column first|rest
    awk -v c="$2" -v w="$3" -v single="$((epochs == 1))" \
        '(w == "first" || single) == ($1 == 1) { print $c }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
max() { sort -g "$1" | tail -1; }

a_first=$(median "$tmp/aelab.txt" 2 first) a_epoch=$(median "$tmp/aelab.txt" 2 rest)
p_first=$(median "$tmp/peer.txt" 2 first) p_epoch=$(median "$tmp/peer.txt" 2 rest)
p_own=$(median "$tmp/peer.txt" 3 rest)
awk -v s="$steps" -v af="$a_first" -v ae="$a_epoch" -v pf="$p_first" -v pe="$p_epoch" \
    -v po="$p_own" -v peer="$peer" -v am="$(max "$tmp/aelab.mem")" -v pm="$(max "$tmp/peer.mem")" 'BEGIN {
    print "medians over the rounds; epoch 1 is warm-up, \"epoch\" the later ones (or epoch 1 alone):"
    printf "%-18s %12s %12s %12s %16s %10s\n", "", "epoch 1 (s)", "epoch (s)", "step (s)", "own step (s)", "peak MB"
    printf "%-18s %12.2f %12.2f %12.4f %16s %10d\n", "aelab", af, ae, ae / s, "-", am
    printf "%-18s %12.2f %12.2f %12.4f %16.4f %10d\n", peer, pf, pe, pe / s, po, pm
    printf "%-18s %12.2f %12.2f %12.2f\n", "ratio aelab/" peer, af / pf, ae / pe, ae / pe
}'
echo "(step = epoch seconds / $steps steps, validation included; own step = the peer's median" \
    "training step alone; peak MB = the largest resident memory of any run)"
