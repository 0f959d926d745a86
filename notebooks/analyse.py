# %% [markdown]
# # Analyse an xbar-opt study with Polars
#
# Reads a study's ledger (`<study>/evaluations/*.parquet`), recomputes the full-fidelity
# Pareto set and the hypervolume against cumulative cost, and checks them against the
# study's report (`<study>/report/pareto.csv`). `analyse.ipynb` holds the same cells.
#
# Usage: `python3 notebooks/analyse.py STUDY_DIR` (default `studies/default`).

# %%
import json
import sys
from pathlib import Path

import polars as pl

study = Path(sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "studies/default")
ledger = pl.read_parquet(str(study / "evaluations" / "*.parquet")).sort("iteration")
print(ledger.select("iteration", "strategy", "cell_bits", "xbar_size", "freq_hz", "temp_k",
                    "fidelity_epochs", "accuracy_mean", "area_um2", "latency_ns", "energy_pj"))

# %% [markdown]
# Objectives, all minimised: -accuracy, area, latency, energy; only successful
# full-fidelity evaluations count.

# %%
OBJECTIVES = ["accuracy_mean", "area_um2", "latency_ns", "energy_pj"]


def full_fidelity(df):
    return df.filter(
        (pl.col("status") == "ok")
        & ((pl.col("fidelity_z") - 1.0).abs() < 1e-9)
        & pl.all_horizontal(pl.col(OBJECTIVES).is_not_null())
    )


def minimised(df):
    return [[-r[0], r[1], r[2], r[3]] for r in df.select(OBJECTIVES).rows()]


def dominates(a, b):
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_keys(df):
    full = full_fidelity(df)
    points, keys = minimised(full), full["eval_key"].to_list()
    front = [k for i, k in enumerate(keys) if not any(dominates(q, points[i]) for q in points)]
    return sorted(set(front))


def hypervolume(points, ref):
    """Exact hypervolume of minimised points against ref, by slicing the last axis."""
    points = [p for p in points if all(x < r for x, r in zip(p, ref))]
    if not points:
        return 0.0
    if len(ref) == 1:
        return ref[0] - min(p[0] for p in points)
    points = sorted(points, key=lambda p: p[-1])
    total = 0.0
    for i, p in enumerate(points):
        upper = points[i + 1][-1] if i + 1 < len(points) else ref[-1]
        if upper > p[-1]:
            total += (upper - p[-1]) * hypervolume([q[:-1] for q in points[: i + 1]], ref[:-1])
    return total


full = full_fidelity(ledger)
all_points = minimised(full)
reference = [0.0] + [1.1 * max(p[j] for p in all_points) for j in (1, 2, 3)]

# %% [markdown]
# The hypervolume against cumulative cost (training epochs; a 0-epoch evaluation counts one).

# %%
curve, seen, cost = [], [], 0.0
for row in ledger.iter_rows(named=True):
    cost += max(row["fidelity_epochs"], 1)
    if row["status"] == "ok" and abs(row["fidelity_z"] - 1.0) < 1e-9 and row["accuracy_mean"] is not None:
        seen.append([-row["accuracy_mean"], row["area_um2"], row["latency_ns"], row["energy_pj"]])
    curve.append((cost, hypervolume(seen, reference)))
print("hypervolume against cost:", curve)

# %% [markdown]
# The Pareto set, checked against the report's.

# %%
keys = pareto_keys(ledger)
print(json.dumps({"pareto": keys, "hypervolume": curve[-1][1] if curve else 0.0}))
report = study / "report" / "pareto.csv"
if report.exists():
    reported = sorted(pl.read_csv(report)["eval_key"].to_list())
    assert reported == keys, f"report {reported} != recomputed {keys}"
    print("the report's Pareto set matches")
