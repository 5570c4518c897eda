#!/usr/bin/env bash
# The GPU check: everything a freshly lent GPU machine should tell, in one call of a few
# minutes, from any folder.
#  1. Agreement: the same tiny autoencoder (L2 FS3 FL4, seed 13, 80 images: one batch of 64
#     to train on, so epoch 1's loss is the first step's, and 16 to validate on after it) on
#     the CPU (flex) and on each GPU backend the binary has. It fails when a backend's loss
#     or validation loss differs from flex's by more than TOLERANCE, relative (default
#     1e-3: tests/wgpu.rs and tests/libtorch.rs measure 1e-6 for the first step).
#  2. Speed: the default model (L4 FS3 FL32, batch 64) on all of MNIST (48,000 training and
#     12,000 validation images) for EPOCHS (default 3) on each GPU backend, and the same
#     model in PyTorch eager on the same card: the first epoch (start-up: burn compiles and
#     autotunes its kernels, LibTorch picks cuDNN's algorithms) and the later ones apart.
#  3. One summary table, on stdout and in $OUT/summary.md.
#
#   cargo build --release --features cuda,tch      # or cuda, tch, wgpu alone or together
#   scripts/gpu-check.sh [--cpu] [AELAB]           # AELAB: default target/release/aelab
#
# --cpu rehearses it all without a GPU (CI does, so that a broken script is found before a
# GPU is lent): the backends checked against flex are the binary's other CPU ones (libtorch,
# wgpu on whatever adapter it finds), the speed runs are 640 images of the tiny model, and
# PyTorch runs on the CPU.
#
# It finds by itself: libtorch (LIBTORCH_LIB, else the torch of the python below), NVRTC for
# burn's CUDA (beside that torch's nvidia wheels, else /usr/local/cuda*/lib64, else
# ldconfig's), and the python with torch for the PyTorch peer (PYTHON, else the venv of
# scripts/setup-libtorch.sh, else python3). A backend or peer that cannot run is named with
# the reason and counted as skipped; a disagreement, or a binary that cannot start, fails
# (exit 1). Writes under $OUT (a temp folder when unset). BENCHES=DIR runs benches first
# (see below).
set -euo pipefail

cpu_only=false
if [[ ${1:-} == --cpu ]]; then
    cpu_only=true
    shift
fi
bin=$(realpath "${1:-target/release/aelab}")
cd "$(dirname "$0")/.."
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
epochs=${EPOCHS:-3}
tolerance=${TOLERANCE:-1e-3}
venv=${AELAB_TORCH_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/aelab/torch-2.9.0}
skipped=()

has_torch() { "$1" -W ignore -c 'import torch, numpy' 2>/dev/null; }
python=${PYTHON:-}
if [[ -z $python ]]; then
    python=python3
    if [[ -x $venv/bin/python ]] && has_torch "$venv/bin/python"; then python=$venv/bin/python; fi
fi

# Library folders: libtorch's, and NVRTC's (burn's CUDA compiles its kernels with it).
lib_dirs=()
torch_lib=${LIBTORCH_LIB:-}
if [[ -z $torch_lib ]] && has_torch "$python"; then
    torch_lib=$("$python" -W ignore -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
fi
if [[ -n $torch_lib ]]; then lib_dirs+=("$torch_lib"); fi
nvrtc=$(
    {
        if [[ -n $torch_lib ]]; then ls "$torch_lib"/../../nvidia/cuda_nvrtc/lib/libnvrtc.so* 2>/dev/null || true; fi
        ls /usr/local/cuda*/lib64/libnvrtc.so* 2>/dev/null || true
        ldconfig -p 2>/dev/null | awk '/libnvrtc\.so/ { print $NF }'
    } | head -1 || true
)
if [[ -n $nvrtc ]]; then lib_dirs+=("$(dirname "$nvrtc")"); fi
if ((${#lib_dirs[@]})); then
    export LD_LIBRARY_PATH=$(IFS=:; echo "${lib_dirs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
echo "binary $bin; libtorch ${torch_lib:-none}; NVRTC ${nvrtc:-none}; PyTorch peer: $python"
if missing=$(ldd "$bin" 2>/dev/null | grep "not found"); then
    echo "error: $bin cannot start, its libraries are missing (set LIBTORCH_LIB to libtorch's lib folder):" >&2
    echo "$missing" >&2
    exit 1
fi

# BENCHES=DIR: first the criterion benches in DIR (train_step, layers, data_loading, built
# with `cargo bench --features cuda --no-run` and copied there without their hash suffix).
for bench in train_step layers data_loading; do
    if [[ -n ${BENCHES:-} && -x $BENCHES/$bench ]]; then
        echo "== cargo bench --features cuda --bench $bench"
        "$BENCHES/$bench" --bench --noplot 2>&1 | grep -E "^cuda_|time:"
    fi
done

if $cpu_only; then
    candidates=(libtorch wgpu)
    speed_flags=(--limit 640 --layers 2 --filters 4)
    peer_flags=(--device cpu --images 512 --val-images 128 --layers 2 --filters 4)
    what="640 images of L2 FS3 FL4 on the CPU (a rehearsal: no speed to read here)"
else
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    candidates=(libtorch-cuda cuda wgpu)
    speed_flags=()
    peer_flags=(--device cuda --images 48000 --val-images 12000)
    what="the default model L4 FS3 FL32 B64 on all of MNIST"
fi

tiny=(autoencoder --limit 80 --layers 2 --filters 4 --epochs 1 --batch-size 64 --seed 13 --no-menu)
# The backends this binary has and this machine runs: one it lacks, or cannot use, fails at
# once, and is named with its reason.
backends=()
for device in "${candidates[@]}"; do
    if "$bin" "${tiny[@]}" --device "$device" --out "$out/probe-$device" \
        >/dev/null 2>"$out/probe-$device.err"; then
        backends+=("$device")
    else
        skipped+=("--device $device: $(head -1 "$out/probe-$device.err")")
    fi
done

# `column NAME FILE`: the last row's value of the CSV column NAME.
column() {
    awk -F, -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        { value = $c } END { print value }' "$2"
}
# `agrees A B`: whether A and B are numbers within the relative tolerance (NaN is not).
agrees() {
    awk -v a="$1" -v b="$2" -v tol="$tolerance" 'BEGIN {
        number = "^[-+]?[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?$"
        if (a !~ number || b !~ number) exit 1
        d = a - b; if (d < 0) d = -d; m = a < 0 ? -a : a
        exit !(d <= tol * m) }'
}

echo "== agreement: the tiny autoencoder's first step, flex against each backend (tolerance $tolerance)"
rows=()
failed=0
"$bin" "${tiny[@]}" --device cpu --out "$out/tiny-cpu" >/dev/null
reference=("$(column Loss "$out/tiny-cpu/loss_values.csv")" "$(column Val_Loss "$out/tiny-cpu/loss_values.csv")")
rows+=("| cpu (flex) | ${reference[0]} | ${reference[1]} | reference |")
for device in "${backends[@]}"; do
    csv=$out/probe-$device/loss_values.csv
    got=("$(column Loss "$csv")" "$(column Val_Loss "$csv")")
    verdict=agrees
    if ! agrees "${reference[0]}" "${got[0]}" || ! agrees "${reference[1]}" "${got[1]}"; then
        verdict="DIFFERS beyond $tolerance"
        failed=1
    fi
    rows+=("| $device | ${got[0]} | ${got[1]} | $verdict |")
done
printf '%s\n' "${rows[@]}"

# `epoch_times LOG`: the first epoch's seconds and the later epochs' mean, from aelab's
# "epoch 2/3  loss ...  val_loss ...  4.1 s" lines or the peer's "epoch 2 ... epoch_seconds 4.1".
epoch_times() {
    awk '$1 == "epoch" {
            s = ""; for (i = 2; i < NF; i++) if ($i == "epoch_seconds") s = $(i + 1)
            if (s == "" && $NF == "s") s = $(NF - 1)
            if (s == "") next
            if (++n == 1) first = s; else rest += s }
        END { if (n == 0) exit 1; later = "-"; if (n > 1) later = sprintf("%.2f", rest / (n - 1))
            printf "%.2f | %s", first, later }' "$1"
}

echo "== speed: $what, $epochs epochs"
speeds=()
for device in "${backends[@]}"; do
    echo "-- aelab --device $device"
    "$bin" autoencoder "${speed_flags[@]}" --epochs "$epochs" --device "$device" --no-menu \
        --out "$out/speed-$device" | tee "$out/speed-$device.log" | grep -E "^epoch"
    speeds+=("| aelab $device | $(epoch_times "$out/speed-$device.log") |")
done
if has_torch "$python" && { $cpu_only || "$python" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; }; then
    echo "-- PyTorch eager"
    "$python" benches/peers/torch_ae.py "${peer_flags[@]}" --epochs "$epochs" | tee "$out/torch.log"
    speeds+=("| PyTorch eager | $(epoch_times "$out/torch.log") |")
else
    skipped+=("PyTorch peer: $python has no torch with numpy$($cpu_only || echo ' and CUDA')")
fi

{
    echo "# GPU check, $(date -u +%F), $($cpu_only && echo "rehearsed on the CPU" || nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
    echo
    echo "First step of the tiny autoencoder (seed 13), against flex within $tolerance:"
    echo
    echo "| device | loss | val_loss | |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Seconds per epoch, $what:"
    echo
    echo "| run | first epoch | later epochs (mean) |"
    echo "|---|---|---|"
    if ((${#speeds[@]})); then printf '%s\n' "${speeds[@]}"; fi
    echo
    echo "Skipped: ${#skipped[@]}"
    if ((${#skipped[@]})); then printf -- '- %s\n' "${skipped[@]}"; fi
} >"$out/summary.md"
echo "== summary ($out/summary.md)"
cat "$out/summary.md"
if ((failed)); then
    echo "error: a backend's first step differs from flex's beyond $tolerance (see above)" >&2
    exit 1
fi
