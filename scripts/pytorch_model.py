#!/usr/bin/env python3
"""aelab's autoencoder and classifier as PyTorch modules, loaded from `aelab export`'s file.

    from pytorch_model import load
    model = load("results/ae.safetensors")          # eval mode, weights as aelab trained them
    reconstructions = model(images)                 # images: [N, 1, 28, 28] floats in [0, 1]

A classifier's forward gives class scores (logits); `model.probabilities(images)` their
softmax. The module is built from the architecture aelab put in the file's metadata, and
`load_state_dict(strict=True)` checks every name and shape.

As a script, runs the model on the first images of an IDX file (as aelab reads it: pixels
/ 255) and prints a summary; `--write FILE` also writes the outputs as little-endian f32
(reconstructions [N, 1, H, W], or probabilities [N, classes]).
Needs torch and safetensors (`pip install torch safetensors`).
"""

import argparse
import gzip
import json
import struct
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

# As aelab (src/model/block.rs): Keras' BatchNormalization defaults; PyTorch's momentum is
# the new batch's weight, as burn's.
BATCH_NORM_EPSILON = 1e-3
BATCH_NORM_MOMENTUM = 0.01
POOLED_LAYERS = 2


class ConvBlock(nn.Module):
    """Conv2d (same padding; an even kernel pads one more after) -> ReLU -> BatchNorm."""

    def __init__(self, channels_in, channels_out, kernel):
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, kernel, padding="same")
        self.norm = nn.BatchNorm2d(
            channels_out, eps=BATCH_NORM_EPSILON, momentum=BATCH_NORM_MOMENTUM
        )

    def forward(self, x):
        return self.norm(torch.relu(self.conv(x)))


class Encoder(nn.Module):
    """`layers` blocks, filters doubling per block, 2x2 max pooling after the first two."""

    def __init__(self, layers, filter_size, filters):
        super().__init__()
        widths = [filters << i for i in range(layers)]
        self.blocks = nn.ModuleList(
            ConvBlock(1 if i == 0 else widths[i - 1], widths[i], filter_size)
            for i in range(layers)
        )
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < POOLED_LAYERS:
                x = self.pool(x)
        return x


class Decoder(nn.Module):
    """The encoder's mirror, nearest 2x upsampling after the last two blocks, then a conv
    to one channel and a sigmoid."""

    def __init__(self, layers, filter_size, filters):
        super().__init__()
        top = layers - 1
        width = lambda i: filters << i
        self.blocks = nn.ModuleList(
            ConvBlock(width(top + 1 - max(i, 1)), width(top - i), filter_size)
            for i in range(layers)
        )
        self.output = nn.Conv2d(filters, 1, filter_size, padding="same")
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        first_upsampled = len(self.blocks) - POOLED_LAYERS
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i >= first_upsampled:
                x = self.upsample(x)
        return torch.sigmoid(self.output(x))


class Code(nn.Module):
    """The fully connected code (`aelab autoencoder --code N`): the encoder's output
    flattened, to `size` numbers (linear), and back (ReLU), shaped for the decoder."""

    def __init__(self, size, features):
        super().__init__()
        self.down = nn.Linear(features, size)
        self.up = nn.Linear(size, features)

    def encode(self, features):
        return self.down(torch.flatten(features, 1))

    def decode(self, code, shape):
        return torch.relu(self.up(code)).reshape(shape)


class Autoencoder(nn.Module):
    def __init__(self, layers, filter_size, filters, code=None):
        super().__init__()
        self.encoder = Encoder(layers, filter_size, filters)
        self.decoder = Decoder(layers, filter_size, filters)
        self.code = Code(code["size"], code["features"]) if code else None

    def encode(self, images):
        """Each image's code as one row: the fully connected code's, or the encoder's
        output flattened."""
        features = self.encoder(images)
        return self.code.encode(features) if self.code else torch.flatten(features, 1)

    def forward(self, images):
        features = self.encoder(images)
        if self.code:
            features = self.code.decode(self.code.encode(features), features.shape)
        return self.decoder(features)


class Head(nn.Module):
    """Flatten -> Linear -> ReLU -> Linear (dropout, if aelab trained with it, is off at
    inference)."""

    def __init__(self, inputs, fc_units, classes):
        super().__init__()
        self.fc = nn.Linear(inputs, fc_units)
        self.out = nn.Linear(fc_units, classes)

    def forward(self, features):
        return self.out(torch.relu(self.fc(torch.flatten(features, 1))))


class Classifier(nn.Module):
    def __init__(self, encoder, fc_units, classes, height, width):
        super().__init__()
        self.encoder = Encoder(encoder["layers"], encoder["filter_size"], encoder["filters"])
        pooled = min(encoder["layers"], POOLED_LAYERS)
        channels = encoder["filters"] << (encoder["layers"] - 1)
        inputs = channels * (height >> pooled) * (width >> pooled)
        self.head = Head(inputs, fc_units, classes)

    def forward(self, images):
        return self.head(self.encoder(images))

    def probabilities(self, images):
        return torch.softmax(self(images), dim=1)


def load(path):
    """The model in an `aelab export` file, in eval mode."""
    with safe_open(path, framework="pt") as f:
        card = json.loads(f.metadata()["aelab_card"])
    arch = card["architecture"]
    if card["kind"] == "autoencoder":
        model = Autoencoder(
            arch["layers"], arch["filter_size"], arch["filters"], arch.get("code")
        )
    else:
        model = Classifier(
            arch["encoder"], arch["fc_units"], arch["classes"], arch["height"], arch["width"]
        )
    model.load_state_dict(load_file(path), strict=True)
    return model.eval()


def read_idx_images(path, count=None):
    """An IDX images file (raw or gzip) as [N, 1, H, W] floats in [0, 1]."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, n, height, width = struct.unpack(">IIII", f.read(16))
        if magic != 0x803:
            sys.exit(f"{path}: not an IDX images file (magic {magic:#x})")
        n = n if count is None else min(n, count)
        pixels = np.frombuffer(f.read(n * height * width), dtype=np.uint8)
    return torch.from_numpy(pixels.astype(np.float32) / 255.0).reshape(n, 1, height, width)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="the .safetensors file aelab export wrote")
    parser.add_argument("--images", required=True, help="IDX images (raw or .gz)")
    parser.add_argument("--count", type=int, help="only the first N images")
    parser.add_argument("--write", help="write the outputs here as little-endian f32")
    args = parser.parse_args()

    torch.set_num_threads(1)  # the same sums in the same order on every machine
    model = load(args.model)
    images = read_idx_images(args.images, args.count)
    with torch.no_grad():
        if isinstance(model, Classifier):
            outputs = model.probabilities(images)
            labels = outputs.argmax(dim=1).tolist()
            print(f"{len(labels)} images; predicted classes of the first ten: {labels[:10]}")
        else:
            outputs = model(images)
            mse = ((outputs - images) ** 2).mean().item()
            print(f"{len(images)} images; mean reconstruction MSE {mse:.6f}")
    if args.write:
        outputs.numpy().astype("<f4").tofile(args.write)


if __name__ == "__main__":
    main()
