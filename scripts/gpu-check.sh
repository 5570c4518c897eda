#!/usr/bin/env bash
# GPU check: the same tiny config on CPU and on each GPU backend with one seed (the losses
# should track), then the default autoencoder (L4 FS3 FL32, batch 64) on full MNIST (48,000
# training + 12,000 validation images) for 3 epochs on each GPU backend the binary has
# (LibTorch's cuDNN kernels, burn's CUDA), and the same model in PyTorch eager on the same
# card. Epoch 1 includes start-up (burn CUDA compiles and autotunes its kernels then, LibTorch
# picks cuDNN algorithms): compare the later epochs, which the summary reports apart.
#
#   cargo build --release --features cuda,tch      # or either feature alone
#   scripts/gpu-check.sh [path/to/aelab]           # default: target/release/aelab
#
# With BENCHES=DIR it first runs the criterion benches found in DIR (executables named
# train_step, layers, data_loading, built with `cargo bench --features cuda --no-run` and
# copied there without their hash suffix), from the repository root so they find data/mnist.
#
# Needs the NVIDIA driver; burn's CUDA also needs NVRTC (looked for in /usr/local/cuda/lib64);
# LibTorch needs libtorch 2.9.0's CUDA libraries where the binary was built (its rpath), or
# their folder in LIBTORCH_LIB. PYTHON (default python3) runs the PyTorch peer; it is
# skipped when that python has no torch. EPOCHS (default 3) sets the full-MNIST epochs.
# Writes under $OUT (a temp folder when unset).
set -uo pipefail
bin=${1:-target/release/aelab}
out=${OUT:-$(mktemp -d)}
epochs=${EPOCHS:-3}
python=${PYTHON:-python3}
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LIBTORCH_LIB:+:$LIBTORCH_LIB}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

if [[ -n ${BENCHES:-} ]]; then
    for bench in train_step layers data_loading; do
        [[ -x $BENCHES/$bench ]] || continue
        echo "== cargo bench --features cuda --bench $bench"
        "$BENCHES/$bench" --bench --noplot 2>&1 | grep -E "^cuda_|time:"
    done
fi

# The GPU backends this binary has: a backend it lacks fails at once with "built without".
backends=()
for device in libtorch-cuda cuda; do
    if "$bin" autoencoder --limit 64 --layers 2 --filters 2 --epochs 1 --no-menu \
        --device "$device" --out "$out/probe-$device" >/dev/null 2>"$out/probe-$device.err"; then
        backends+=("$device")
    else
        echo "-- --device $device: $(head -1 "$out/probe-$device.err")"
    fi
done

echo "== tiny config (L2 FS3 FL4, 2,000 images, 2 epochs), seed 13: CPU, then each GPU backend"
for device in cpu "${backends[@]}"; do
    echo "-- $device"
    "$bin" autoencoder --limit 2000 --layers 2 --filters 4 --epochs 2 --batch-size 64 \
        --seed 13 --device "$device" --no-menu --out "$out/tiny-$device" | grep -E "^(epoch|Trained)"
done

summary=()
for device in "${backends[@]}"; do
    echo "== default model (L4 FS3 FL32 B64), full MNIST, $epochs epochs, --device $device"
    /usr/bin/time -v "$bin" autoencoder --epochs "$epochs" --device "$device" --no-menu \
        --out "$out/full-$device" 2>"$out/time-$device.txt" | tee "$out/full-$device.log" |
        grep -E "^(epoch|Trained)"
    grep -E "Maximum resident|Elapsed" "$out/time-$device.txt"
    # "epoch 2/3  loss ...  val_loss ...  4.1 s"
    summary+=("$(awk -v d="aelab $device" '$1 == "epoch" && $NF == "s" {
        split($2, e, "/"); if (e[1] == 1) first = $(NF - 1); else { rest += $(NF - 1); n++ } }
        END { printf "%-24s first epoch %8.2f s   later epochs %8.2f s", d, first, n ? rest / n : 0 }' \
        "$out/full-$device.log")")
done

if "$python" -c 'import torch, numpy; assert torch.cuda.is_available()' 2>/dev/null; then
    echo "== PyTorch eager, the same model, full MNIST, $epochs epochs, on the GPU"
    "$python" benches/peers/torch_ae.py --device cuda --images 48000 --val-images 12000 \
        --epochs "$epochs" | tee "$out/torch.log"
    summary+=("$(awk '$1 == "epoch" { for (i = 1; i < NF; i++) v[$i] = $(i + 1)
        if (v["epoch"] == 1) first = v["epoch_seconds"]; else { rest += v["epoch_seconds"]; n++ } }
        END { printf "%-24s first epoch %8.2f s   later epochs %8.2f s", "pytorch eager", first, n ? rest / n : 0 }' \
        "$out/torch.log")")
else
    echo "-- PyTorch peer skipped: $python has no torch with CUDA (or no numpy)"
fi

echo "== summary (seconds per epoch of 48,000 training + 12,000 validation images)"
printf '%s\n' "${summary[@]}"
