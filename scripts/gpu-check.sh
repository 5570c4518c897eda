#!/usr/bin/env bash
# GPU check: the same tiny config on CPU and CUDA with one seed (the losses should track),
# then 2 epochs of the default autoencoder (L4 FS3 FL32, batch 64) on full MNIST on CUDA.
#
#   cargo build --release --features cuda
#   scripts/gpu-check.sh [path/to/aelab]        # default: target/release/aelab
#
# With BENCHES=DIR it first runs the criterion benches found in DIR (executables named
# train_step, layers, data_loading, built with
# `cargo bench --features cuda --no-run` and copied there without their hash suffix), from
# the repository root so they find data/mnist.
#
# Needs the NVIDIA driver and NVRTC (kernels are compiled at run time); NVRTC is looked for
# in /usr/local/cuda/lib64. Writes under $OUT (a temp folder when unset).
set -uo pipefail
bin=${1:-target/release/aelab}
out=${OUT:-$(mktemp -d)}
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

if [[ -n ${BENCHES:-} ]]; then
    for bench in train_step layers data_loading; do
        [[ -x $BENCHES/$bench ]] || continue
        echo "== cargo bench --features cuda --bench $bench"
        "$BENCHES/$bench" --bench --noplot 2>&1 | grep -E "^cuda_|time:"
    done
fi

echo "== tiny config (L2 FS3 FL4, 2,000 images, 2 epochs), CPU then CUDA, seed 13"
for device in cpu cuda; do
    "$bin" autoencoder --limit 2000 --layers 2 --filters 4 --epochs 2 --batch-size 64 \
        --seed 13 --device "$device" --out "$out/tiny-$device" | grep -E "^(epoch|Trained)"
done

echo "== default model (L4 FS3 FL32 B64), full MNIST (48,000 train images), 2 epochs, CUDA"
/usr/bin/time -v "$bin" autoencoder --epochs 2 --device cuda --out "$out/full" 2>"$out/time.txt"
grep -E "Maximum resident|Elapsed" "$out/time.txt"
