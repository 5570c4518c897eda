"""The probe that chose scripts/one-class.sh's fully connected code, before aelab had one
(see README.md here): a PyTorch stand-in for aelab's L2 FS3 FL8 autoencoder, with and
without a 32-number dense code, trained on one digit's training images (80%, seeded) and
scored on the other 20% against 2,000 training images of the other digits: validation
data only, no test image. Usage (the torch venv CI makes has what it needs):
    python dense-code-probe.py DIGITS SPEC...     e.g. 8 0:raw 32:raw
DIGITS: comma-separated; SPEC: CODE:raw (CODE 0: no dense code) or CODE:gcn (Deep SVDD's
global contrast normalisation and min-max scaling first, not needed in the end).
"""
import gzip, sys, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
DATA = "data/mnist"  # run from the repository root
def idx(path, skip):
    return np.frombuffer(gzip.open(path).read()[skip:], dtype=np.uint8)
X = idx(DATA + "/train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
Y = idx(DATA + "/train-labels-idx1-ubyte.gz", 8)
def gcn(x):
    x = x - x.mean(axis=(1, 2, 3), keepdims=True)
    return x / np.abs(x).mean(axis=(1, 2, 3), keepdims=True)
class AE(nn.Module):
    def __init__(s, code, f=8):
        super().__init__()
        s.code = code
        s.e1, s.b1 = nn.Conv2d(1, f, 3, padding=1), nn.BatchNorm2d(f)
        s.e2, s.b2 = nn.Conv2d(f, 2 * f, 3, padding=1), nn.BatchNorm2d(2 * f)
        n = 2 * f * 49
        if code: s.fc, s.fd = nn.Linear(n, code), nn.Linear(code, n)
        s.d1, s.c1 = nn.Conv2d(2 * f, f, 3, padding=1), nn.BatchNorm2d(f)
        s.d2, s.c2 = nn.Conv2d(f, f, 3, padding=1), nn.BatchNorm2d(f)
        s.out = nn.Conv2d(f, 1, 3, padding=1); s.f = f
    def forward(s, x):
        x = F.max_pool2d(s.b1(F.relu(s.e1(x))), 2)
        x = F.max_pool2d(s.b2(F.relu(s.e2(x))), 2)
        if s.code: x = F.relu(s.fd(s.fc(x.flatten(1)))).view(-1, 2 * s.f, 7, 7)
        x = F.interpolate(s.c1(F.relu(s.d1(x))), scale_factor=2)
        x = F.interpolate(s.c2(F.relu(s.d2(x))), scale_factor=2)
        return s.out(x)
def auc(normal, anomal):
    s = np.concatenate([normal, anomal]); r = s.argsort().argsort() + 1
    na = len(anomal); return (r[len(normal):].sum() - na * (na + 1) / 2) / (na * len(normal))
def run(k, code, pre, epochs=20):
    torch.manual_seed(0); rng = np.random.default_rng(0)
    normal = np.where(Y == k)[0]; rng.shuffle(normal); cut = int(0.8 * len(normal))
    tr, va = normal[:cut], normal[cut:]
    others = rng.choice(np.where(Y != k)[0], 2000, replace=False)
    x = X.copy()
    if pre:
        x = gcn(x); lo, hi = x[tr].min(), x[tr].max(); x = (x - lo) / (hi - lo)
    xt = torch.tensor(x)
    m = AE(code); opt = torch.optim.Adam(m.parameters(), 1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for e in range(epochs):
        m.train(); perm = torch.tensor(rng.permutation(tr))
        for i in range(0, len(perm), 64):
            b = xt[perm[i:i + 64]]; loss = F.mse_loss(torch.sigmoid(m(b)), b)
            opt.zero_grad(); loss.backward(); opt.step()
        sched.step()
    m.eval()
    with torch.no_grad():
        err = lambda ids: ((torch.sigmoid(m(xt[ids])) - xt[ids]) ** 2).mean(dim=(1, 2, 3)).numpy()
        en, ea = err(va), err(others)
    return auc(en, ea), en.mean()
for spec in sys.argv[2:]:
    code, pre = spec.split(":")
    for k in map(int, sys.argv[1].split(",")):
        a, l = run(k, int(code), pre == "gcn")
        print(f"digit {k} code {code} pre {pre}: val AUC {a:.3f} normal val MSE {l:.5f}", flush=True)
