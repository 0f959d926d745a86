"""PyTorch reference for `pipeline bench train`: the CIFAR ResNet20 (option-A shortcut,
269,722 parameters, as in stages/src/models.rs), trained on random data on the CPU.

Usage: python3 torch_train.py BATCH STEPS THREADS. Prints `torch_img_per_s_clean: N` (training
steps) and `torch_img_per_s_eval: N` (eval-mode inference).
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
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
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for stage, c in enumerate([16, 32, 64]):
            for b in range(3):
                layers.append(Block(cin, c, 2 if stage > 0 and b == 0 else 1))
                cin = c
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(x.mean((2, 3)))


def main():
    batch, steps, threads = (int(a) for a in sys.argv[1:4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = ResNet20()
    assert sum(p.numel() for p in net.parameters()) == 269_722
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(batch, 3, 32, 32) * 2 - 1
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    print(f"torch_img_per_s_clean: {steps * batch / (time.perf_counter() - start):.1f}")

    # Inference: eval-mode forward passes without autograd.
    net.eval()
    with torch.no_grad():
        net(x)
        start = time.perf_counter()
        for _ in range(steps):
            net(x)
        print(f"torch_img_per_s_eval: {steps * batch / (time.perf_counter() - start):.1f}")


if __name__ == "__main__":
    main()
