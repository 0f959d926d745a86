#!/usr/bin/env python3
"""BoTorch's SingleTaskGP on the data sets of `pipeline bench gp`: the held-out predictive
log-likelihood of each (problem, objective, training size), to compare with our GP fits.

    cargo run -p pipeline -- bench gp --out bench-results      # writes the data sets
    python3 bench/gp_heldout_botorch.py bench-results/gp-heldout-data.json \
        --out bench/gp-heldout-botorch.json
    cargo run -p pipeline -- bench gp                            # prints both

Each data set's outputs are already standardised with its training mean and standard
deviation; SingleTaskGP is fitted as BoTorch's tutorials do (its default priors and
outcome standardisation, `fit_gpytorch_mll` on the exact marginal log likelihood), in
float64, and scored by the mean log density of the held-out outputs under its posterior
with the observation noise.
"""

import argparse
import json
import math
import sys

import botorch
import gpytorch
import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from gpytorch.mlls import ExactMarginalLogLikelihood


def score(data_set):
    train_x = torch.tensor(data_set["train_x"], dtype=torch.float64)
    train_y = torch.tensor(data_set["train_y"], dtype=torch.float64).unsqueeze(-1)
    test_x = torch.tensor(data_set["test_x"], dtype=torch.float64)
    test_y = torch.tensor(data_set["test_y"], dtype=torch.float64)
    model = SingleTaskGP(train_x, train_y)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    fit_gpytorch_mll(mll)
    with torch.no_grad():
        posterior = model.posterior(test_x, observation_noise=True)
        mean = posterior.mean.squeeze(-1)
        var = posterior.variance.squeeze(-1)
    log_density = -0.5 * (torch.log(2 * math.pi * var) + (test_y - mean) ** 2 / var)
    return float(log_density.mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="gp-heldout-data.json from `pipeline bench gp`")
    parser.add_argument("--out", required=True, help="where to write the scores (JSON)")
    args = parser.parse_args()
    with open(args.data, "rb") as f:
        raw = f.read()
    data_sets = json.loads(raw)
    torch.manual_seed(0)
    scores = {}
    for s in data_sets:
        key = f'{s["problem"]}/{s["objective"]}/{s["n"]}'
        scores[key] = score(s)
        print(f"{key}: {scores[key]:.4f}", file=sys.stderr)
    out = {
        "data_digest": blake3_hex(raw),
        "versions": {
            "botorch": botorch.__version__,
            "gpytorch": gpytorch.__version__,
            "torch": torch.__version__,
        },
        "command": "python3 bench/gp_heldout_botorch.py bench-results/gp-heldout-data.json "
        "--out bench/gp-heldout-botorch.json",
        "scores": scores,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


def blake3_hex(raw):
    try:
        import blake3
    except ImportError:
        sys.exit("pip install blake3 (the digest `pipeline bench gp` checks)")
    return blake3.blake3(raw).hexdigest()


if __name__ == "__main__":
    main()
