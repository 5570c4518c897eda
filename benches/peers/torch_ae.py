"""aelab's autoencoder in PyTorch (eager, CPU), timed per step and per epoch.

    pip install torch
    python3 benches/peers/torch_ae.py --images 2560 --val-images 640 --epochs 2

Same layers as src/model/{encoder,decoder}.rs and the Keras defaults aelab copies:
BatchNorm eps 1e-3 and momentum 0.01 (PyTorch counts like burn: weight of the new batch,
i.e. Keras' 0.99), RMSprop lr 1e-3 / alpha 0.9 / eps 1e-7 / no momentum.
"""

import time

import torch
from torch import nn

from common import load_images, parse_args, report

POOLED = 2  # max pooling after the first two encoder blocks, upsampling after the last two decoder blocks
VALIDATION_BATCH = 256  # as aelab


def block(c_in, c_out, k):
    return [nn.Conv2d(c_in, c_out, k, padding="same"), nn.ReLU(),
            nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.01)]


def build(n_layers, filters, k):
    mods, c = [], 1
    for i in range(n_layers):  # encoder, filters doubling
        mods += block(c, filters << i, k)
        c = filters << i
        if i < POOLED:
            mods.append(nn.MaxPool2d(2))
    for i in range(n_layers):  # decoder, the mirror
        mods += block(c, filters << (n_layers - 1 - i), k)
        c = filters << (n_layers - 1 - i)
        if i >= n_layers - POOLED:
            mods.append(nn.Upsample(scale_factor=2, mode="nearest"))
    mods += [nn.Conv2d(c, 1, k, padding="same"), nn.Sigmoid()]
    return nn.Sequential(*mods)


def main():
    a = parse_args(__doc__)
    torch.manual_seed(a.seed)
    if a.threads:
        # OpenMP threads spin-wait on each other: on a loaded 2-core VM, 2 threads can be
        # 10x slower than 1. Measure both when the machine is not quiet.
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    x = torch.from_numpy(load_images(a.data, a.images + a.val_images)).unsqueeze(1)  # N,1,28,28
    train, valid = x[:a.images].to(device), x[a.images:].to(device)
    model = build(a.layers, a.filters, a.filter_size).to(device)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7, momentum=0)
    mse = nn.MSELoss()
    print(f"peer torch {torch.__version__} device {device} threads {torch.get_num_threads()} "
          f"params {sum(p.numel() for p in model.parameters())}", flush=True)
    for epoch in range(1, a.epochs + 1):
        start, steps, loss_sum = time.perf_counter(), [], 0.0
        model.train()
        for idx in torch.randperm(len(train), device=device).split(a.batch_size):
            t = time.perf_counter()
            batch = train[idx]  # gathered per step, as aelab builds each batch
            loss = mse(model(batch), batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)  # .item() also waits for the step (GPU: queued work)
            steps.append(time.perf_counter() - t)
        train_end = time.perf_counter()
        val_sum = 0.0
        model.eval()
        with torch.no_grad():
            for batch in valid.split(VALIDATION_BATCH):
                val_sum += mse(model(batch), batch).item() * len(batch)
        report(epoch, steps, train_end - start, time.perf_counter() - start,
               loss_sum / len(train), val_sum / len(valid) if len(valid) else float("nan"))


if __name__ == "__main__":
    main()
