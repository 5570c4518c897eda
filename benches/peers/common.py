"""What the two peers share: flags, reading the bundled MNIST, timing output.

Both peers print one line per epoch, `key value` pairs that scripts/compare.sh reads:
    epoch 1 steps 40 step_seconds 0.21 train_seconds 8.6 epoch_seconds 9.4 loss 0.07 val_loss 0.05
step_seconds is the median of that epoch's training steps; epoch_seconds is the whole epoch,
the validation pass included, as aelab's `epoch e/E ... s` line measures it.
"""

import argparse
import gzip
import os
import statistics

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DATA = os.path.join(REPO, "data", "mnist", "train-images-idx3-ubyte.gz")


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--filters", type=int, default=32)
    p.add_argument("--filter-size", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--images", type=int, default=2560, help="training images (the first N)")
    p.add_argument("--val-images", type=int, default=640,
                   help="validation images (the next ones), evaluated after each epoch as aelab does")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for the library's kernels (0: its default, all cores)")
    p.add_argument("--device", default="cpu",
                   help="torch peer only: cpu or cuda (Keras runs on the CPU here)")
    return p.parse_args()


def load_images(path, count):
    """The first `count` images of an IDX images file (gzip), as float32 in [0, 1], N x 28 x 28."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n, h, w = np.frombuffer(raw[:16], dtype=">u4")
    assert magic == 2051, f"{path}: not an IDX images file"
    assert count <= n, f"{path}: asked for {count} images, the file has {n}"
    pixels = np.frombuffer(raw[16:16 + count * h * w], dtype=np.uint8)
    return pixels.reshape(count, h, w).astype(np.float32) / 255.0


def report(epoch, step_times, train_seconds, epoch_seconds, loss, val_loss):
    print(f"epoch {epoch} steps {len(step_times)} step_seconds {statistics.median(step_times):.4f} "
          f"train_seconds {train_seconds:.3f} epoch_seconds {epoch_seconds:.3f} "
          f"loss {loss:.5f} val_loss {val_loss:.5f}", flush=True)
