#!/usr/bin/env bash
# Make (or reuse) a Python venv holding exactly torch 2.9.0, the libtorch that aelab's
# `--features tch` build needs (burn-tch 0.21 -> tch 0.22 -> libtorch 2.9.0), and print the
# command that builds aelab against it.
#
#   scripts/setup-libtorch.sh [VENV]     # default: $AELAB_TORCH_VENV, else
#                                        # ${XDG_DATA_HOME:-~/.local/share}/aelab/torch-2.9.0
#
# PyPI's torch 2.9.0 wheel (about 900 MB to download, 6-7 GB installed with its nvidia-*
# libraries, a few minutes) carries libtorch for the CPU and for CUDA 12.8 GPUs. An existing
# venv with torch 2.9.0 is reused as it is. Needs python3 (3.9 to 3.13) with venv and pip.
set -euo pipefail
venv=${1:-${AELAB_TORCH_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/aelab/torch-2.9.0}}
want=2.9.0
python=${PYTHON:-python3}

installed() { "$venv/bin/python" -W ignore -c 'import torch; print(torch.__version__)' 2>/dev/null | cut -d+ -f1; }

if [[ -x $venv/bin/python && $(installed) == "$want" ]]; then
    echo "torch $want already in $venv" >&2
else
    echo "installing torch==$want into $venv (about 900 MB to download)" >&2
    mkdir -p "$(dirname "$venv")"
    [[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "torch==$want" >&2
    got=$(installed)
    if [[ $got != "$want" ]]; then
        echo "error: $venv: torch ${got:-missing} after pip install, expected $want" >&2
        exit 1
    fi
fi

lib=$("$venv/bin/python" -W ignore -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
echo "libtorch $want: $lib" >&2
echo "build aelab with it:" >&2
echo "PATH=\"$venv/bin:\$PATH\" LIBTORCH_USE_PYTORCH=1 cargo build --release --features tch"
