"""Reference values from PytorX itself (the paper's noise simulator) for the tests in
stages/src/crossbar_sim.rs: `a_tiny_linear_layer_matches_pytorx_by_hand` and
`relative_noise_matches_pytorx_on_its_own_layers`.

Needs torch and a CPU copy of PytorX's package:

    ../shared/tools/pytorx-cpu.sh PYTORX_GIT_DIR /tmp/pytorx
    PYTHONPATH=/tmp/pytorx/python python3 bench/pytorx_reference.py

It prints the noise-free output of a tiny FC layer, then the relative output noise
`rms(noisy - clean) / std(clean)` of a 256-32 FC layer and a 16-16 3x3 conv layer on a
batch of 100, both in training mode (each call's own DAC and ADC ranges), for the
crossbar sizes and corners the test checks. Weights and inputs are `wave(...)`, which
the Rust test builds the same way.
"""
import math

import torch
from torx.module.layer import crxb_Conv2d, crxb_Linear

CPU = torch.device("cpu")
DEVICE = dict(ir_drop=False, device=CPU, gmax=3.33e-4, gmin=3.33e-7, gwire=0.0357,
              gload=0.25, bias=False, quantize=8)


def linear(n_in, n_out, xbar, noise, freq=5e8, temp=350.0):
    layer = crxb_Linear(n_in, n_out, crxb_size=xbar, enable_noise=noise, freq=freq,
                        temp=temp, **DEVICE)
    layer._reset_delta()
    return layer


def conv(xbar, noise, freq=5e8, temp=350.0):
    layer = crxb_Conv2d(16, 16, kernel_size=3, padding=1, crxb_size=xbar,
                        enable_noise=noise, freq=freq, temp=temp, **DEVICE)
    layer._reset_delta()
    return layer


def wave(n, scale, offset):
    """sin(0.37 k + offset) * scale for k < n."""
    return torch.tensor([math.sin(0.37 * k + offset) * scale for k in range(n)],
                        dtype=torch.float32)


def relative_noise(make, weight, x, draws):
    with torch.no_grad():
        clean_layer = make(False)
        clean_layer.weight.copy_(weight)
        clean_layer.train()
        clean = clean_layer(x)
        noisy_layer = make(True)
        noisy_layer.weight.copy_(weight)
        noisy_layer.train()
        total = 0.0
        for d in range(draws):
            torch.manual_seed(100 + d)
            total += ((noisy_layer(x) - clean) ** 2).mean().item()
        return math.sqrt(total / draws) / clean.std(unbiased=False).item()


def main():
    torch.manual_seed(0)
    tiny = linear(2, 2, 2, False)
    with torch.no_grad():
        tiny.weight.copy_(torch.tensor([[0.5, -0.25], [1.0, 0.125]]))
    tiny.train()
    print("tiny linear, noise-free:", tiny(torch.tensor([[1.0, -0.5]])).tolist())

    w = wave(32 * 256, 0.1, 0.3).reshape(32, 256)
    x = wave(100 * 256, 0.5, 1.1).reshape(100, 256) + 0.5
    for xbar in (32, 128):
        for freq, temp in ((5e8, 350.0), (1e9, 400.0)):
            r = relative_noise(lambda n: linear(256, 32, xbar, n, freq, temp), w, x, 20)
            print(f"fc 256-32, {xbar}x{xbar}, {freq:.0e} Hz, {temp:.0f} K: {r:.6f}")
    wc = wave(16 * 16 * 9, 0.1, 0.7).reshape(16, 16, 3, 3)
    xc = wave(100 * 16 * 8 * 8, 0.5, 2.3).reshape(100, 16, 8, 8) + 0.5
    for xbar in (32, 128):
        r = relative_noise(lambda n: conv(xbar, n), wc, xc, 10)
        print(f"conv 16-16 3x3, {xbar}x{xbar}, 5e8 Hz, 350 K: {r:.6f}")


if __name__ == "__main__":
    main()
