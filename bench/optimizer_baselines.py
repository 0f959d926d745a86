"""The Python baselines beside `pipeline bench optimizer`: pymoo's NSGA-II and BoTorch's
qLogNEHVI, MOMF and MF-HVKG, on the same problems, initial designs and budgets.

    cargo run -p pipeline -- bench optimizer --seeds 10 --out bench-results
    python3 bench/optimizer_baselines.py bench-results
        [--methods pymoo_nsga2,botorch_qlognehvi,botorch_momf,botorch_mf_hvkg]
        [--problems branin_currin,dtlz2_d6_m2] [--seeds N]

It reads what the Rust benchmark wrote into its output folder: `problems.json` (each
problem's reference point, maximum hypervolume, budgets, each seed's initial design and
the objective values at probe points) and `optimizer-traces.parquet` (every method's
trace). First it checks that the problem definitions agree with the Rust ones to 1e-12 at
the probe points: against BoTorch's own classes (`botorch.test_functions`) wherever BoTorch
defines the problem, else against the Python definitions below. Then, per seed:

- `pymoo_nsga2`: pymoo's NSGA-II with the population and generations of ours (the same
  number of full-fidelity evaluations);
- `botorch_qlognehvi`: BoTorch's qLogNEHVI, sequential (q = 1), from the seed's Sobol
  initial design (the one our model-based methods start from), one SingleTaskGP per
  objective (BoTorch's defaults: inferred noise, standardised outcomes), 128 quasi-MC
  samples, 10 restarts from 512 raw samples, until the model-based budget (or the
  evaluation cap) is spent. It evaluates at full fidelity only, also on the
  multi-fidelity problems;
- `botorch_momf`: BoTorch's MOMF (Irshad et al. 2021) on the multi-fidelity problems, with
  the fidelity as an input and a trust objective, and BoTorch's tutorial cost exp(4.8 s),
  from the initial design at the fidelities our multi-fidelity methods start at;
- `botorch_mf_hvkg`: BoTorch's multi-fidelity hypervolume knowledge gradient (Daulton et
  al. 2023) on the multi-fidelity problems, with its tutorial's models and settings, from
  the same initial design.

Each is measured exactly as the Rust benchmark measures its methods (the hypervolume of
the evaluated full-fidelity front after every evaluation, against the same reference
point, and the cost to reach our NSGA-II's final hypervolume of the same seed). It writes
`baseline-traces.parquet` and prints the table rows beside the Rust methods' rows.

Needs numpy, polars, pymoo, and torch + botorch for the BoTorch rows and checks
(`pip install numpy polars pymoo botorch`).
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.problem import Problem
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize

try:
    import torch
    from botorch import test_functions as tf
    from botorch.test_functions.multi_objective_multi_fidelity import MOMFBraninCurrin, MOMFPark

    torch.set_default_dtype(torch.float64)
except ImportError:  # the BoTorch rows and checks need it
    torch = None


def crossbar_like(x, z):
    """`optimizer::synthetic::CrossbarLike` at full fidelity, maximised."""
    assert z == 1.0, "only the full fidelity is defined here"
    noise = 1.5 * x[0] ** 2 + 0.6 * x[1] + 0.8 * x[2] * (0.5 + x[3]) + 0.4 * x[3]
    accuracy = 0.1 + 0.85 * math.exp(-noise)
    cells = 1.0 / (1.0 + 7.0 * x[0])
    area = cells * (1.3 - 0.6 * x[1])
    latency = (0.5 + 0.5 * cells) * (1.2 - 0.4 * x[1]) / (0.1 + 0.9 * x[2])
    energy = area * (0.6 + 0.4 * x[2]) + 0.1 * (1.0 + x[3]) * latency
    return [accuracy, -area, -latency, -energy]


def botorch_problem(name):
    """BoTorch's class for a problem (maximised: `negate=True`), and whether its last
    input is the fidelity; None where BoTorch has none (or is not installed)."""
    if torch is None:
        return None
    return {
        "branin_currin": (lambda: tf.multi_objective.BraninCurrin(negate=True), False),
        "momf_branin_currin": (lambda: MOMFBraninCurrin(negate=True), True),
        "momf_park": (lambda: MOMFPark(negate=True), True),
        "dtlz2_d6_m2": (lambda: tf.multi_objective.DTLZ2(dim=6, num_objectives=2, negate=True), False),
        "dtlz2_d6_m4": (lambda: tf.multi_objective.DTLZ2(dim=6, num_objectives=4, negate=True), False),
        "vehicle_safety": (lambda: tf.multi_objective.VehicleSafety(negate=True), False),
        "car_side_impact": (lambda: tf.multi_objective.CarSideImpact(negate=True), False),
    }.get(name)


def objectives(name):
    """`f(xs, z) -> ys`: the problem's maximised objectives at unit-cube points `xs`."""
    made = botorch_problem(name)
    if made is not None:
        factory, has_fidelity = made
        problem = factory()
        lo, hi = problem.bounds[0], problem.bounds[1]
        if has_fidelity:
            lo, hi = lo[:-1], hi[:-1]

        def f(xs, z):
            x = lo + torch.tensor(np.asarray(xs, dtype=float)) * (hi - lo)
            if has_fidelity:
                x = torch.cat([x, torch.full((x.shape[0], 1), float(z))], dim=-1)
            elif z != 1.0:
                raise ValueError(f"{name} has no lower fidelity")
            return problem(x, noise=False).tolist()

        return f
    if name == "crossbar_like":
        return lambda xs, z: [crossbar_like(list(x), z) for x in xs]
    if name == "branin_currin":
        sys.exit("branin_currin: needs BoTorch (pip install botorch) for its definition")
    sys.exit(f"{name}: needs BoTorch (pip install botorch)")


def check_definitions(spec, f):
    """The Python definition gives the Rust values at the probe points, to 1e-12
    (BraninCurrin is BoTorch's at full fidelity only: its lower fidelities are ours)."""
    for probe in spec["probes"]:
        z = probe.get("z", 1.0)
        if spec["name"] in ("branin_currin", "crossbar_like") and z != 1.0:
            continue
        got = f([probe["x"]], z)[0]
        for g, want in zip(got, probe["y"]):
            if abs(g - want) > 1e-12 * max(1.0, abs(want)):
                sys.exit(f"{spec['name']}: Python gives {got} at {probe['x']} z={z}, Rust {probe['y']}")


class Recorded(Problem):
    """The problem for pymoo (objectives minimised), recording every evaluation in order."""

    def __init__(self, f, dim, k):
        super().__init__(n_var=dim, n_obj=k, xl=0.0, xu=1.0)
        self.f = f
        self.history = []

    def _evaluate(self, xs, out, *args, **kwargs):
        ys = self.f(xs, 1.0)
        self.history.extend(at_full_fidelity(ys))
        out["F"] = -np.array(ys)


def is_full(z):
    """Whether an evaluation at fidelity `z` is at full fidelity."""
    return z >= 1.0 - 1e-12


def trace(history, reference):
    """The hypervolume of the full-fidelity front evaluated so far (minimised), after every
    evaluation. `history` holds `(y, z, cost)`: the minimised objectives, the fidelity
    and the cost (full fidelity 1) of each evaluation."""
    indicator = HV(ref_point=np.array(reference))
    front, out = [], []
    for y, z, _ in history:
        if is_full(z) and not any(all(a <= b for a, b in zip(p, y)) for p in front):
            front = [p for p in front if not all(a <= b for a, b in zip(y, p))] + [y]
            inside = [p for p in front if all(a < r for a, r in zip(p, reference))]
            out.append(float(indicator(np.array(inside))) if inside else 0.0)
        else:
            out.append(out[-1] if out else 0.0)
    return out


class Run:
    """One method's run: its `history` of `(y, z, cost)` (minimised objectives, fidelity,
    cost with full fidelity 1) and its `recommended` designs' minimised objectives at full
    fidelity, evaluated after the run and not charged (empty where the method recommends
    its evaluated front, as qLogNEHVI and NSGA-II do on noiseless problems)."""

    def __init__(self, history, recommended):
        self.history = history
        self.recommended = recommended


def recommended_hypervolume(run, reference, budget):
    """The hypervolume of the front of the run's full-fidelity evaluations within `budget`
    and its recommended set; None where it recommends nothing beyond what it evaluated."""
    if not run.recommended:
        return None
    spent, points = 0.0, list(run.recommended)
    for y, z, cost in run.history:
        spent += cost
        if spent <= budget * (1.0 + 1e-12) and is_full(z):
            points.append(y)
    return trace([(y, 1.0, 1.0) for y in points], reference)[-1]


def at_full_fidelity(ys):
    """A history of full-fidelity evaluations of maximised values `ys`."""
    return [([-v for v in y], 1.0, 1.0) for y in ys]


def pymoo_nsga2(f, spec, specs, seed):
    problem = Recorded(f, spec["dim"], len(spec["reference_point"]))
    algorithm = NSGA2(pop_size=specs["nsga2_population"])
    minimize(problem, algorithm, ("n_gen", specs["nsga2_generations"] + 1),
             seed=int(seed) + 1, verbose=False)
    return Run(problem.history, [])


def fitted_list(models):
    """The independent GPs `models` as one ModelListGP, fitted together."""
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP
    from gpytorch.mlls import SumMarginalLogLikelihood

    model = ModelListGP(*models)
    fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
    return model


def fitted_models(train_x, train_y):
    """One SingleTaskGP per column of `train_y` (BoTorch's defaults), fitted together."""
    from botorch.models import SingleTaskGP

    return fitted_list([SingleTaskGP(train_x, train_y[:, j : j + 1])
                        for j in range(train_y.shape[1])])


def botorch_qlognehvi(f, spec, specs, seed):
    """Sequential qLogNEHVI from the seed's initial design, at full fidelity."""
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler

    torch.manual_seed(int(seed))
    d = spec["dim"]
    xs = [list(x) for x in spec["initial_designs"][int(seed)]]
    ys = f(xs, 1.0)
    ref = torch.tensor([-r for r in spec["reference_point"]])
    bounds = torch.stack([torch.zeros(d), torch.ones(d)])
    budget = min(int(specs["budget"]), int(specs["max_evaluations"]))
    while len(xs) < budget:
        train_x, train_y = torch.tensor(xs), torch.tensor(ys)
        model = fitted_models(train_x, train_y)
        acqf = qLogNoisyExpectedHypervolumeImprovement(
            model=model, ref_point=ref.tolist(), X_baseline=train_x, prune_baseline=True,
            sampler=SobolQMCNormalSampler(sample_shape=torch.Size([128])))
        candidate, _ = optimize_acqf(acqf, bounds=bounds, q=1, num_restarts=10, raw_samples=512,
                                     options={"batch_limit": 5, "maxiter": 200})
        x = candidate[0].clamp(0.0, 1.0).tolist()
        xs.append(x)
        ys.extend(f([x], 1.0))
    return Run(at_full_fidelity(ys), [])


MOMF_COST_RATE = 4.8
"""The rate of MOMF's cost exp(4.8 z), BoTorch's tutorial's and the Rust problems'."""


def momf_cost(z):
    """MOMF's cost as a fraction of full fidelity's (the cost the Rust problems charge)."""
    return math.exp(MOMF_COST_RATE * (z - 1.0))


def initial_at_fidelities(f, spec, seed):
    """The seed's initial design at the fidelities our multi-fidelity methods start at:
    the inputs with the fidelity appended, and their maximised objectives."""
    xs = [list(x) + [z] for x, z in zip(spec["initial_designs"][int(seed)],
                                        spec["initial_fidelities"])]
    return xs, [f([x[:-1]], x[-1])[0] for x in xs]


def botorch_momf(f, spec, specs, seed):
    """BoTorch's MOMF (Irshad et al. 2021) on a multi-fidelity problem: the fidelity s is
    an input and a further objective (trust, f(s) = s, reference 0), one SingleTaskGP per
    output (BoTorch's defaults), the expected hypervolume improvement of the augmented
    objectives weighted by the inverse cost exp(4.8 s), 128 QMC samples, 10 restarts from
    512 raw samples, sequential. It starts from the seed's initial design at the
    fidelities our multi-fidelity methods start at, and runs until the model-based budget
    (cost in full-fidelity evaluations) or the evaluation cap is spent."""
    from botorch.acquisition.multi_objective.multi_fidelity import MOMF
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler
    from botorch.utils.multi_objective.box_decompositions.non_dominated import (
        FastNondominatedPartitioning,
    )

    torch.manual_seed(int(seed))
    d = spec["dim"]
    xs, ys = initial_at_fidelities(f, spec, seed)
    ref = torch.tensor([-r for r in spec["reference_point"]] + [0.0])
    bounds = torch.stack([torch.zeros(d + 1), torch.ones(d + 1)])
    spent = sum(momf_cost(x[-1]) for x in xs)
    while spent < float(specs["budget"]) and len(xs) < int(specs["max_evaluations"]):
        train_x = torch.tensor(xs)
        train_y = torch.cat([torch.tensor(ys), train_x[:, -1:]], dim=-1)
        acqf = MOMF(model=fitted_models(train_x, train_y), ref_point=ref.tolist(),
                    partitioning=FastNondominatedPartitioning(ref_point=ref, Y=train_y),
                    sampler=SobolQMCNormalSampler(sample_shape=torch.Size([128])),
                    cost_call=lambda x: torch.exp(MOMF_COST_RATE * x[..., -1:]))
        candidate, value = optimize_acqf(acqf, bounds=bounds, q=1, num_restarts=10,
                                         raw_samples=512,
                                         options={"batch_limit": 5, "maxiter": 200,
                                                  "nonnegative": True})
        x = candidate[0].clamp(0.0, 1.0).tolist()
        if value.item() == 0.0:  # no improvement anywhere: the cheapest fidelity, as
            x[-1] = 0.0          # BoTorch's tutorial does
        xs.append(x)
        ys.append(f([x[:-1]], x[-1])[0])
        spent += momf_cost(x[-1])
    model = fitted_models(torch.tensor(xs), torch.tensor(ys))
    designs, _ = recommended_set(model, torch.tensor([-r for r in spec["reference_point"]]), d)
    return Run([([-v for v in y], x[-1], momf_cost(x[-1])) for x, y in zip(xs, ys)],
               evaluated_recommendation(f, designs))


def tutorial_models(train_x, train_y):
    """The MF-HVKG tutorial's models: one SingleTaskGP per output over the design and the
    fidelity, Matern 5/2 with its Gamma priors, a fixed noise of 1e-6, standardised."""
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from gpytorch.kernels import MaternKernel, ScaleKernel
    from gpytorch.priors import GammaPrior

    models = []
    for j in range(train_y.shape[1]):
        y = train_y[:, j : j + 1]
        kernel = ScaleKernel(MaternKernel(nu=2.5, ard_num_dims=train_x.shape[-1],
                                          lengthscale_prior=GammaPrior(2.0, 2.0)),
                             outputscale_prior=GammaPrior(2.0, 0.15))
        models.append(SingleTaskGP(train_x, y, train_Yvar=torch.full_like(y, 1e-6),
                                   outcome_transform=Standardize(m=1), covar_module=kernel))
    return fitted_list(models)


def recommended_set(model, ref, d, k=10):
    """The model's recommended Pareto set at full fidelity, as the MF-HVKG tutorial makes
    it: the `k` designs whose posterior means at full fidelity have the largest hypervolume
    (the fidelity the last of the model's `d + 1` inputs)."""
    from botorch.acquisition.fixed_feature import FixedFeatureAcquisitionFunction
    from botorch.acquisition.multi_objective.hypervolume_knowledge_gradient import (
        _get_hv_value_function,
    )
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler

    value_function = _get_hv_value_function(
        model=model, ref_point=ref,
        sampler=SobolQMCNormalSampler(sample_shape=torch.Size([32])),
        use_posterior_mean=True)
    bounds = torch.stack([torch.zeros(d), torch.ones(d)])
    designs, value = optimize_acqf(
        FixedFeatureAcquisitionFunction(value_function, d=d + 1, columns=[d], values=[1.0]),
        bounds=bounds, q=k, num_restarts=1, raw_samples=1024, return_best_only=True,
        options={"nonnegative": True})
    return designs.clamp(0.0, 1.0).tolist(), value


def evaluated_recommendation(f, designs):
    """The recommended `designs` evaluated at full fidelity, minimised: what the
    recommended set's regret scores (its cost is not charged)."""
    return [[-v for v in y] for y in f(designs, 1.0)]


def botorch_mf_hvkg(f, spec, specs, seed):
    """BoTorch's multi-fidelity hypervolume knowledge gradient (Daulton et al. 2023) with
    its tutorial's settings: the tutorial's models, 8 fantasies, Pareto sets of 10 designs,
    32 inner quasi-MC samples, the current value from the posterior mean's best set at full
    fidelity, utility divided by the cost exp(4.8 s), one restart from 512 raw samples,
    the cheapest fidelity where the value is 0. It starts from the initial design at the
    fidelities our multi-fidelity methods start at, and runs until the model-based budget or
    the evaluation cap is spent; its traces count what it evaluates at full fidelity (its
    recommended set is not evaluated)."""
    from botorch.acquisition.cost_aware import InverseCostWeightedUtility
    from botorch.acquisition.multi_objective.hypervolume_knowledge_gradient import (
        qMultiFidelityHypervolumeKnowledgeGradient,
    )
    from botorch.acquisition.utils import project_to_target_fidelity
    from botorch.models.deterministic import GenericDeterministicModel
    from botorch.optim import optimize_acqf

    torch.manual_seed(int(seed))
    d = spec["dim"]
    xs, ys = initial_at_fidelities(f, spec, seed)
    ref = torch.tensor([-r for r in spec["reference_point"]])
    bounds = torch.stack([torch.zeros(d + 1), torch.ones(d + 1)])
    target = {d: 1.0}

    def project(x):
        return project_to_target_fidelity(X=x, d=d + 1, target_fidelities=target)

    utility = InverseCostWeightedUtility(cost_model=GenericDeterministicModel(
        lambda x: torch.exp(MOMF_COST_RATE * x[..., -1:])))
    spent = sum(momf_cost(x[-1]) for x in xs)
    while spent < float(specs["budget"]) and len(xs) < int(specs["max_evaluations"]):
        model = tutorial_models(torch.tensor(xs), torch.tensor(ys))
        _, current = recommended_set(model, ref, d)
        acqf = qMultiFidelityHypervolumeKnowledgeGradient(
            model=model, ref_point=ref, num_fantasies=8, num_pareto=10, current_value=current,
            cost_aware_utility=utility, target_fidelities=target, project=project)
        candidate, value = optimize_acqf(acqf, bounds=bounds, q=1, num_restarts=1,
                                         raw_samples=512, options={"batch_limit": 5})
        x = candidate[0].clamp(0.0, 1.0).tolist()
        if value.item() == 0.0:
            x[-1] = 0.0
        xs.append(x)
        ys.append(f([x[:-1]], x[-1])[0])
        spent += momf_cost(x[-1])
    designs, _ = recommended_set(tutorial_models(torch.tensor(xs), torch.tensor(ys)), ref, d)
    return Run([([-v for v in y], x[-1], momf_cost(x[-1])) for x, y in zip(xs, ys)],
               evaluated_recommendation(f, designs))


METHODS = {"pymoo_nsga2": pymoo_nsga2, "botorch_qlognehvi": botorch_qlognehvi,
           "botorch_momf": botorch_momf, "botorch_mf_hvkg": botorch_mf_hvkg}
MULTI_FIDELITY_ONLY = ("botorch_momf", "botorch_mf_hvkg")


def cost_to_reach(hvs, costs, target):
    """The cumulative cost at which the hypervolume first reaches `target`."""
    for hv, cost in zip(hvs, costs):
        if hv >= target * (1.0 - 1e-12):
            return cost
    return math.inf


def hypervolume_at(hvs, costs, budget):
    """The hypervolume after the last evaluation within `budget`."""
    within = [hv for hv, cost in zip(hvs, costs) if cost <= budget * (1.0 + 1e-12)]
    return within[-1] if within else 0.0


def provenance():
    """The command and package versions that make a trace, stored with it."""
    import platform
    from importlib.metadata import version

    packages = ["numpy", "polars", "pymoo"] + (["torch", "gpytorch", "botorch"] if torch else [])
    versions = ", ".join(f"{p} {version(p)}" for p in packages)
    return " ".join(["python3"] + sys.argv), f"python {platform.python_version()}, {versions}"


def store(path, rows):
    """Adds `rows` (one run's trace) to the stored traces at `path`, replacing any earlier
    run of the same problem, method and seed; written atomically."""
    new = pl.DataFrame(rows)
    key = new.select("problem", "method", "seed").unique()
    if path.exists():
        old = pl.read_parquet(path).join(key, on=["problem", "method", "seed"], how="anti")
        new = pl.concat([old, new], how="vertical_relaxed")
    new = new.sort("problem", "method", "seed", "evaluation")
    temporary = path.with_name(path.name + ".tmp")
    new.write_parquet(temporary)
    temporary.replace(path)


def log10_regret(spec, hypervolume):
    """The log10 hypervolume regret (-inf at the maximum)."""
    gap = spec["max_hypervolume"] - hypervolume
    return math.log10(gap) if gap > 0.0 else -math.inf


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", default="bench-results")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--problems", default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="skip the seeds before this one (to add seeds to stored traces)")
    parser.add_argument("--traces", default="baseline-traces.parquet",
                        help="the file (in OUT) to write the traces to, so that runs of "
                             "different methods can go on side by side")
    parser.add_argument("--store", default=None,
                        help="also add each run's trace, with the command and package "
                             "versions that made it, to this file (e.g. "
                             "bench/baseline-traces.parquet), replacing the same run")
    args = parser.parse_args()
    out = Path(args.out)
    methods = [m.strip() for m in args.methods.split(",")]
    for m in methods:
        if m not in METHODS:
            sys.exit(f"--methods: unknown method {m!r}; the methods are {', '.join(METHODS)}")
        if m.startswith("botorch") and torch is None:
            sys.exit(f"--methods {m}: needs torch and botorch (pip install botorch)")
    specs = json.loads((out / "problems.json").read_text())
    traces = pl.read_parquet(out / "optimizer-traces.parquet")
    wanted = args.problems.split(",") if args.problems else None
    command, versions = provenance()
    rows, table = [], []
    nsga_cost = specs["nsga2_population"] * (specs["nsga2_generations"] + 1)
    by_name = {spec["name"]: spec for spec in specs["problems"]}
    for name in wanted if wanted is not None else list(by_name):
        if name not in by_name:
            sys.exit(f"--problems: {name!r} is not in {out / 'problems.json'}")
        spec = by_name[name]
        f = objectives(name)
        check_definitions(spec, f)
        print(f"{name}: the Python definition agrees with Rust's to 1e-12", file=sys.stderr)
        ours = traces.filter((pl.col("problem") == name) & (pl.col("method") == "nsga2"))
        seeds = sorted(ours["seed"].unique().to_list())
        seeds = [s for s in seeds if s >= args.first_seed][: args.seeds]
        for method in methods:
            if method in MULTI_FIDELITY_ONLY and not spec["multi_fidelity"]:
                continue
            ratios, regrets, recommended, shares = [], [], [], []
            for seed in seeds:
                target = ours.filter(pl.col("seed") == seed).sort("evaluation")["hypervolume"][-1]
                started = time.time()
                run = METHODS[method](f, spec, specs, seed)
                seconds = time.time() - started
                hvs = trace(run.history, spec["reference_point"])
                costs = list(np.cumsum([cost for _, _, cost in run.history]))
                ratios.append(cost_to_reach(hvs, costs, target) / nsga_cost)
                at_budget = hypervolume_at(hvs, costs, specs["budget"])
                with_set = recommended_hypervolume(run, spec["reference_point"], specs["budget"])
                regrets.append(log10_regret(spec, at_budget))
                recommended.append(log10_regret(
                    spec, at_budget if with_set is None else max(with_set, at_budget)))
                full = sum(c for _, z, c in run.history if is_full(z)) / costs[-1]
                shares.append(full)
                print(f"{name} seed {seed} {method}: {len(hvs)} evaluations, ratio "
                      f"{ratios[-1]:.4f}, log10 regret {regrets[-1]:.3f} (recommended set "
                      f"{recommended[-1]:.3f}), {100 * full:.0f} % of the cost at full "
                      f"fidelity, {seconds:.0f} s", file=sys.stderr)
                run_rows = [{"problem": name, "method": method, "seed": int(seed),
                             "evaluation": i + 1, "fidelity_z": float(z), "cost": float(c),
                             "cumulative_cost": float(cum), "hypervolume": hv,
                             "recommended_hypervolume": with_set,
                             "seconds": seconds, "command": command, "versions": versions}
                            for i, ((_, z, c), cum, hv)
                            in enumerate(zip(run.history, costs, hvs))]
                rows.extend(run_rows)
                pl.DataFrame(rows).write_parquet(out / args.traces)
                if args.store:
                    store(Path(args.store), run_rows)
            q1, q2, q3 = np.quantile(regrets, [0.25, 0.5, 0.75])
            r1, r2, r3 = np.quantile(recommended, [0.25, 0.5, 0.75])
            table.append(f"| {name} | {method} | {np.median(ratios):.3f} | - | "
                         f"{q2:.3f} [{q1:.3f}, {q3:.3f}] | {r2:.3f} [{r1:.3f}, {r3:.3f}] | "
                         f"{100 * np.median(shares):.0f} % | {len(seeds)} |")
            print(table[-1], file=sys.stderr)
    print("\n".join(table))


if __name__ == "__main__":
    main()
