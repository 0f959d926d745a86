"""PyTorch references for `pipeline bench train`: the CIFAR ResNet20 (option-A shortcut,
269,722 parameters, as in stages/src/models.rs) on random data on the CPU.

Usage: python3 torch_resnet20.py MODE BATCH STEPS THREADS, MODE one of
- `torch`: trains it (SGD steps) and runs it in eval mode; prints `torch_img_per_s_clean: N`
  (training) and `torch_img_per_s_eval: N` (inference without autograd);
- `pytorx`: the paper's own simulator running the study's noisy inference, every conv a
  PytorX `crxb_Conv2d` and the classifier a `crxb_Linear`; prints
  `pytorx_img_per_s_noisy_eval: N`. Needs `PYTHONPATH=DIR`, where DIR is the `python` folder
  of a CPU copy of PytorX made by ../shared/tools/pytorx-cpu.sh.

PytorX's chip is the corner `bench train` times: 128x128 crossbars, 1 GHz, 400 K, PytorX's
conductance range and noise (thermal, shot, RTN, programming), 8-bit DAC and ADC. As in
PytorX, one training-mode pass calibrates the DAC and ADC ranges; the timed passes are in eval
mode (those ranges frozen, a fresh noise draw per layer call).
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def software_conv(cin, cout, stride):
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class Block(nn.Module):
    def __init__(self, conv, cin, cout, stride):
        super().__init__()
        self.conv1 = conv(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv(cout, cout, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2
        self.stride = stride

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        short = x[:, :, :: self.stride, :: self.stride]
        if self.pad:
            short = F.pad(short, (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + short)


class ResNet20(nn.Module):
    """ResNet20 with `conv(cin, cout, stride)` for its 3x3 convs and `linear` for the
    classifier."""

    def __init__(self, conv=software_conv, linear=nn.Linear):
        super().__init__()
        self.conv1 = conv(3, 16, 1)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for stage, c in enumerate([16, 32, 64]):
            for b in range(3):
                layers.append(Block(conv, cin, c, 2 if stage > 0 and b == 0 else 1))
                cin = c
        self.layers = nn.Sequential(*layers)
        self.fc = linear(64, 10)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(x.mean((2, 3)))


def images_per_second(batch, steps, step):
    """Images per second of `steps` calls of `step` after one untimed warm-up call."""
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


def software(x, steps):
    net = ResNet20()
    assert sum(p.numel() for p in net.parameters()) == 269_722
    y = torch.randint(0, 10, (x.shape[0],))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def train_step():
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    print(f"torch_img_per_s_clean: {images_per_second(x.shape[0], steps, train_step):.1f}")
    net.eval()
    with torch.no_grad():
        print(f"torch_img_per_s_eval: {images_per_second(x.shape[0], steps, lambda: net(x)):.1f}")


def pytorx(x, steps):
    from torx.module.layer import crxb_Conv2d, crxb_Linear

    chip = dict(ir_drop=False, device=torch.device("cpu"), gmax=3.33e-4, gmin=3.33e-7,
                gwire=0.0357, gload=0.25, freq=1e9, temp=400.0, crxb_size=128, quantize=8,
                enable_noise=True)
    net = ResNet20(
        conv=lambda cin, cout, stride: crxb_Conv2d(cin, cout, 3, stride=stride, padding=1,
                                                   bias=False, **chip),
        linear=lambda n_in, n_out: crxb_Linear(n_in, n_out, **chip),
    )
    crossbar_layers = [m for m in net.modules() if isinstance(m, (crxb_Conv2d, crxb_Linear))]
    assert len(crossbar_layers) == 20
    # The DAC and ADC calibration counters start uninitialised.
    for layer in crossbar_layers:
        layer._reset_delta()
    with torch.no_grad():
        net.train()
        net(x)
        net.eval()
        rate = images_per_second(x.shape[0], steps, lambda: net(x))
    print(f"pytorx_img_per_s_noisy_eval: {rate:.1f}")


def main():
    mode = sys.argv[1]
    batch, steps, threads = (int(a) for a in sys.argv[2:5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.rand(batch, 3, 32, 32) * 2 - 1
    {"torch": software, "pytorx": pytorx}[mode](x, steps)


if __name__ == "__main__":
    main()
