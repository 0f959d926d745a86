"""pymoo's NSGA-II beside `pipeline bench optimizer`, on the same problems and budgets.

    cargo run -p pipeline -- bench optimizer --seeds 10 --out bench-results
    python3 bench/optimizer_baselines.py bench-results

It reads what the Rust benchmark wrote into its output folder: `problems.json` (each
problem's reference point, maximum hypervolume, budgets and the objective values at a few
probe points) and `optimizer-traces.parquet` (every method's trace). First it checks that
the problem definitions below agree with the Rust ones to 1e-12 at the probe points. Then
it runs pymoo's NSGA-II with the population and generations of ours (the same number of
full-fidelity evaluations) for each seed, measures it exactly as the Rust benchmark
measures its methods (the hypervolume of the evaluated front after every evaluation,
against the same reference point), writes `pymoo-traces.parquet` and prints the table rows
for `pymoo_nsga2` beside the Rust methods' rows.

Needs numpy, polars and pymoo (`pip install numpy polars pymoo`).
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import polars as pl
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.problem import Problem
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize


def branin_currin(x):
    """BoTorch's BraninCurrin at full fidelity, both objectives maximised (negated)."""
    x1, x2 = 15.0 * x[0] - 5.0, 15.0 * x[1]
    q = x2 - 5.1 / (4.0 * math.pi**2) * x1 * x1 + 5.0 / math.pi * x1 - 6.0
    branin = q * q + 10.0 * (1.0 - 1.0 / (8.0 * math.pi)) * math.cos(x1) + 10.0
    damping = 1.0 - math.exp(-0.5 / x[1]) if x[1] > 0.0 else 1.0
    num = ((2300.0 * x[0] + 1900.0) * x[0] + 2092.0) * x[0] + 60.0
    den = ((100.0 * x[0] + 500.0) * x[0] + 4.0) * x[0] + 20.0
    return [-branin, -(damping * num / den)]


def crossbar_like(x):
    """`stages::optimizer::synthetic::CrossbarLike` at full fidelity, maximised."""
    noise = 1.5 * x[0] ** 2 + 0.6 * x[1] + 0.8 * x[2] * (0.5 + x[3]) + 0.4 * x[3]
    accuracy = 0.1 + 0.85 * math.exp(-noise)
    cells = 1.0 / (1.0 + 7.0 * x[0])
    area = cells * (1.3 - 0.6 * x[1])
    latency = (0.5 + 0.5 * cells) * (1.2 - 0.4 * x[1]) / (0.1 + 0.9 * x[2])
    energy = area * (0.6 + 0.4 * x[2]) + 0.1 * (1.0 + x[3]) * latency
    return [accuracy, -area, -latency, -energy]


PROBLEMS = {"branin_currin": branin_currin, "crossbar_like": crossbar_like}


def check_definitions(spec):
    """Our Python definitions give the Rust values at the probe points, to 1e-12."""
    f = PROBLEMS[spec["name"]]
    for probe in spec["probes"]:
        got = f(probe["x"])
        for g, want in zip(got, probe["y"]):
            if abs(g - want) > 1e-12 * max(1.0, abs(want)):
                sys.exit(f"{spec['name']}: Python gives {got} at {probe['x']}, Rust {probe['y']}")


class Recorded(Problem):
    """The problem for pymoo (objectives minimised), recording every evaluation in order."""

    def __init__(self, f, dim, k):
        super().__init__(n_var=dim, n_obj=k, xl=0.0, xu=1.0)
        self.f = f
        self.history = []

    def _evaluate(self, xs, out, *args, **kwargs):
        ys = [[-v for v in self.f(list(x))] for x in xs]
        self.history.extend(ys)
        out["F"] = np.array(ys)


def trace(history, reference):
    """The hypervolume of the front evaluated so far, after every evaluation."""
    indicator = HV(ref_point=np.array(reference))
    front, out = [], []
    for y in history:
        if not any(all(a <= b for a, b in zip(p, y)) for p in front):
            front = [p for p in front if not all(a <= b for a, b in zip(y, p))] + [y]
        inside = [p for p in front if all(a < r for a, r in zip(p, reference))]
        out.append(float(indicator(np.array(inside))) if inside else 0.0)
    return out


def cost_to_reach(hvs, target):
    for i, hv in enumerate(hvs):
        if hv >= target * (1.0 - 1e-12):
            return float(i + 1)
    return math.inf


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-results")
    specs = json.loads((out / "problems.json").read_text())
    traces = pl.read_parquet(out / "optimizer-traces.parquet")
    rows, table = [], []
    for spec in specs["problems"]:
        name = spec["name"]
        check_definitions(spec)
        ours = traces.filter((pl.col("problem") == name) & (pl.col("method") == "nsga2"))
        ratios, regrets = [], []
        for seed in sorted(ours["seed"].unique().to_list()):
            target = ours.filter(pl.col("seed") == seed).sort("evaluation")["hypervolume"][-1]
            problem = Recorded(PROBLEMS[name], spec["dim"], len(spec["reference_point"]))
            algorithm = NSGA2(pop_size=specs["nsga2_population"])
            minimize(problem, algorithm, ("n_gen", specs["nsga2_generations"] + 1),
                     seed=int(seed) + 1, verbose=False)
            hvs = trace(problem.history, spec["reference_point"])
            nsga_cost = specs["nsga2_population"] * (specs["nsga2_generations"] + 1)
            ratios.append(cost_to_reach(hvs, target) / nsga_cost)
            at_budget = hvs[min(len(hvs), int(specs["budget"])) - 1]
            regrets.append(math.log10(max(spec["max_hypervolume"] - at_budget, 0.0)))
            rows.extend({"problem": name, "method": "pymoo_nsga2", "seed": int(seed),
                         "evaluation": i + 1, "fidelity_z": 1.0, "cost": 1.0,
                         "cumulative_cost": float(i + 1), "hypervolume": hv}
                        for i, hv in enumerate(hvs))
        q1, q2, q3 = np.quantile(regrets, [0.25, 0.5, 0.75])
        table.append(f"| {name} | pymoo_nsga2 | {np.median(ratios):.3f} | - | "
                     f"{q2:.3f} [{q1:.3f}, {q3:.3f}] | 100 % |")
    pl.DataFrame(rows).write_parquet(out / "pymoo-traces.parquet")
    print("\n".join(table))


if __name__ == "__main__":
    main()
