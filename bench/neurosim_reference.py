#!/usr/bin/env python3
"""Reference values from DNN+NeuroSim V1.3 itself (the paper's PPA tool) for the tests of
the `neurosim` PPA model (stages/src/ppa/neurosim/) and the comparison in the README.

NeuroSim is licensed for non-commercial use only: this script fetches nothing and copies no
code; it drives `../shared/tools/neurosim.sh`, which builds a fetched checkout of
`neurosim/DNN_NeuroSim_V1.3` at chosen `Param.cpp` settings and runs its C++ simulator on a
network with synthetic traces (`../shared/tools/neurosim-traces.py`), then parses the
printout into `bench/neurosim-reference.json`.

    apt-get install build-essential          # g++ and make
    python3 bench/neurosim_reference.py --git NEUROSIM_GIT_DIR [--work DIR] [--only NAME ...]

One setting takes 1-3 minutes on one core here (NeuroSim walks every input bit vector of
every subarray); settings already in the output file are skipped unless --force.

The workload, so that NeuroSim and the Rust model see the same network:
- **Networks** are ours (`stages/src/arch.rs`): VGG8 (NeuroSim's own example network) and
  ResNet20 (option-A shortcuts: no weights; NeuroSim has no residual adds, which carry no
  weights and are not modelled by either side). NeuroSim's network format has no padding
  and counts `((H - k + 1) / stride)^2` input vectors per layer, so each 3x3 conv is given
  its zero-padded input map (H + 2): both sides then count the real `out_hw^2` positions
  of a padded convolution. Pooling: VGG8's 2x2 max pools as NeuroSim's `pool` flag;
  ResNet20's global average pool is not a NeuroSim unit and is left out on both sides.
- **Traces** (`neurosim-traces.py`, seed 0): 8-bit weights drawn from N(0, 0.2) in
  NeuroSim's WAGE range (-1, 1), clipped and quantised; 8-bit post-ReLU inputs whose
  sign bit is 0 and whose other bits are 1 independently with probability 0.1 * 8 / 7,
  so that the mean activity of all bit vectors (NeuroSim's `activityRowRead`) is 0.10.
- **Energy** is NeuroSim's dynamic plus leakage energy per image, without its 1.22
  post-layout factor `zeta` (which it applies only to its TOPS/W line).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TOOL = os.path.join(HERE, "..", "..", "shared", "tools", "neurosim.sh")
DEFAULT_OUT = os.path.join(HERE, "neurosim-reference.json")
WIRE_WIDTH_NM = {22: 40, 32: 56, 45: 80, 65: 105, 90: 110, 130: 175}


def conv(hw, cin, cout, stride=1, pool=0):
    """A padded 3x3 conv as a NeuroSim network line: the zero-padded input map."""
    return [hw + 2, hw + 2, cin, 3, 3, cout, pool, stride]


def fc(cin, cout):
    return [1, 1, cin, 1, 1, cout, 0, 1]


def vgg8():
    return [conv(32, 3, 128), conv(32, 128, 128, pool=1), conv(16, 128, 256),
            conv(16, 256, 256, pool=1), conv(8, 256, 512), conv(8, 512, 512, pool=1),
            fc(8192, 1024), fc(1024, 10)]


def resnet20():
    layers = [conv(32, 3, 16)] + [conv(32, 16, 16)] * 6
    layers += [conv(32, 16, 32, stride=2)] + [conv(16, 32, 32)] * 5
    layers += [conv(16, 32, 64, stride=2)] + [conv(8, 64, 64)] * 5
    return layers + [fc(64, 10)]


NETWORKS = {"vgg8": vgg8, "resnet20": resnet20}


def setting(model, node, cell_bits, xbar, adc_bits, temp_k=300, cell_width_f=12):
    """One grid point. `cell_width_f` is the 1T1R cell's width in F: NeuroSim exits where
    the access transistor its device needs is wider than the cell (at 350 K and above its
    drive current falls and the transistor widens past the default 12 F), so those
    settings draw a wider cell, on both sides."""
    return dict(model=model, tech_node_nm=node, cell_bits=cell_bits, xbar_size=xbar,
                adc_bits=adc_bits, temp_k=temp_k, cell_width_f=cell_width_f)


# The grid: spans the models, nodes, cell resolutions, crossbar sizes, ADC resolutions and
# temperatures without their full product (one NeuroSim run takes minutes).
GRID = [
    # ResNet20 at 32 nm (the paper's node): every cell resolution and crossbar size it maps
    setting("resnet20", 32, 1, 32, 5), setting("resnet20", 32, 1, 64, 5),
    setting("resnet20", 32, 1, 128, 5), setting("resnet20", 32, 2, 32, 5),
    setting("resnet20", 32, 2, 64, 5), setting("resnet20", 32, 2, 128, 5),
    setting("resnet20", 32, 4, 32, 5), setting("resnet20", 32, 4, 64, 5),
    setting("resnet20", 32, 8, 32, 5),
    # ... ADC resolutions
    setting("resnet20", 32, 2, 128, 4), setting("resnet20", 32, 2, 128, 6),
    setting("resnet20", 32, 4, 32, 4), setting("resnet20", 32, 8, 32, 6),
    setting("resnet20", 32, 2, 64, 6),
    # ResNet20 at 22 nm
    setting("resnet20", 22, 2, 128, 5), setting("resnet20", 22, 4, 64, 5),
    setting("resnet20", 22, 8, 32, 5), setting("resnet20", 22, 1, 32, 4),
    setting("resnet20", 22, 2, 32, 6),
    # VGG8 at 22 nm (NeuroSim's defaults) and around it
    setting("vgg8", 22, 2, 128, 5), setting("vgg8", 22, 1, 128, 5),
    setting("vgg8", 22, 4, 128, 5), setting("vgg8", 22, 8, 128, 5),
    setting("vgg8", 22, 2, 64, 5), setting("vgg8", 22, 2, 32, 5),
    setting("vgg8", 22, 2, 128, 4), setting("vgg8", 22, 2, 128, 6),
    setting("vgg8", 22, 8, 32, 4),
    # temperature (leakage, wire resistance, sense power)
    setting("resnet20", 32, 2, 64, 5, 350, 24), setting("resnet20", 32, 2, 64, 5, 400, 24),
    setting("vgg8", 22, 2, 128, 5, 400, 24), setting("resnet20", 32, 2, 64, 5, 300, 24),
    # 45 nm
    setting("resnet20", 45, 2, 64, 5), setting("vgg8", 45, 2, 128, 5),
    # VGG8 at 32 nm (last: its small arrays take NeuroSim up to an hour)
    setting("vgg8", 32, 2, 128, 5), setting("vgg8", 32, 8, 128, 5),
    setting("vgg8", 32, 4, 64, 6), setting("vgg8", 32, 1, 32, 5),
    setting("vgg8", 32, 2, 64, 4),
]


def name_of(s):
    name = "{model}-{tech_node_nm}nm-{cell_bits}b-{xbar_size}x-{adc_bits}adc-{temp_k}K".format(**s)
    return name if s["cell_width_f"] == 12 else name + "-{cell_width_f}F".format(**s)


def param_edits(s):
    wire = WIRE_WIDTH_NM[s["tech_node_nm"]]
    return [f"technode={s['tech_node_nm']}", f"featuresize={wire}e-9", f"wireWidth={wire}",
            f"cellBit={s['cell_bits']}", f"numRowSubArray={s['xbar_size']}",
            f"numColSubArray={s['xbar_size']}", f"levelOutput={2 ** s['adc_bits']}",
            f"temp={s['temp_k']}"] + (
                [] if s["cell_width_f"] == 12 else [f"widthInFeatureSize1T1R={s['cell_width_f']}"])


NUM = r"([-+0-9.eE]+|-?nan|-?inf)"


def grab(text, label, unit=""):
    """The number after the last occurrence of `label` (a literal prefix)."""
    hits = re.findall(re.escape(label) + r"\s*" + NUM + re.escape(unit), text)
    return float(hits[-1]) if hits else None


def breakdown(block):
    keys = [("adc", "ADC (or S/As and precharger for SRAM) read"),
            ("accumulation", "Accumulation Circuits (subarray level: adders, shiftAdds; PE/Tile/Global level: accumulation units) read"),
            ("other", "Other Peripheries (e.g. decoders, mux, switchmatrix, buffers, IC, pooling and activation units) read")]
    out = {}
    for key, label in keys:
        out[f"{key}_latency_ns"] = grab(block, label + "Latency is :", "ns")
        out[f"{key}_energy_pj"] = grab(block, label + "DynamicEnergy is :", "pJ")
    return out


def per_layer_counts(text, title):
    m = re.search(re.escape(title) + r"[^\n]*\n(.*?)\n\s*\n", text, re.S)
    if not m:
        return []
    return [float(v) for v in re.findall(r"layer\d+:\s*" + NUM, m.group(1))]


def parse(text, n_layers):
    if "ERROR" in text and "Summary" not in text:
        line = next(l for l in text.splitlines() if "ERROR" in l)
        return {"refused": line.strip()}
    summary = text[text.index("------------------------------ Summary"):]
    dynamic = grab(summary, "Chip total readDynamicEnergy is:", "pJ")
    leakage = grab(summary, "Chip total leakage Energy is:", "pJ")
    r = {
        "area_um2": grab(summary, "ChipArea :", "um^2"),
        "area_breakdown_um2": {
            "arrays": grab(summary, "Chip total CIM array :", "um^2"),
            "interconnect": grab(summary, "Total IC Area on chip (Global and Tile/PE local):", "um^2"),
            "adc": grab(summary, "Total ADC (or S/As and precharger for SRAM) Area on chip :", "um^2"),
            "accumulation": grab(summary, "Total Accumulation Circuits (subarray level: adders, shiftAdds; PE/Tile/Global level: accumulation units) on chip :", "um^2"),
            "other": grab(summary, "Other Peripheries (e.g. decoders, mux, switchmatrix, buffers, pooling and activation units) :", "um^2"),
        },
        "clock_period_ns": grab(summary, "Chip clock period is:", "ns"),
        "latency_ns": grab(summary, "Chip layer-by-layer readLatency (per image) is:", "ns"),
        "dynamic_energy_pj": dynamic,
        "leakage_energy_pj": leakage,
        "energy_pj": dynamic + leakage,
        "leakage_power_uw": grab(summary, "Chip total leakage Power is:", "uW"),
        "buffer_latency_ns": grab(summary, "Chip buffer readLatency is:", "ns"),
        "buffer_energy_pj": grab(summary, "Chip buffer readDynamicEnergy is:", "pJ"),
        "interconnect_latency_ns": grab(summary, "Chip ic readLatency is:", "ns"),
        "interconnect_energy_pj": grab(summary, "Chip ic readDynamicEnergy is:", "pJ"),
        "breakdown": breakdown(summary),
        "tops_per_w_with_zeta": grab(summary, "Energy Efficiency TOPS/W (Layer-by-Layer Process):"),
        "tiles_per_layer": per_layer_counts(text, "# of tile used for each layer"),
        "speedup_per_layer": per_layer_counts(text, "Speed-up of each layer"),
        "utilization_per_layer": per_layer_counts(text, "Utilization of each layer"),
        "tile_size_cm": grab(text, "Desired Conventional Mapped Tile Storage Size:"),
        "pe_size_cm": grab(text, "Desired Conventional PE Storage Size:"),
        "pe_size_nm": grab(text, "Desired Novel Mapped Tile Storage Size: 9x"),
        "run_time_s": grab(text, "Total Run-time of NeuroSim:"),
        "layers": [],
    }
    for i in range(1, n_layers + 1):
        start = text.index(f"Estimation of Layer {i} ")
        end = text.find("Estimation of Layer", start + 30)
        block = text[start:end if end > 0 else text.index("Summary")]
        p = f"layer{i}'s "
        layer = {
            "latency_ns": grab(block, p + "readLatency is:", "ns"),
            "dynamic_energy_pj": grab(block, p + "readDynamicEnergy is:", "pJ"),
            "leakage_power_uw": grab(block, p + "leakagePower is:", "uW"),
            "leakage_energy_pj": grab(block, p + "leakageEnergy is:", "pJ"),
            "buffer_latency_ns": grab(block, p + "buffer latency is:", "ns"),
            "buffer_energy_pj": grab(block, p + "buffer readDynamicEnergy is:", "pJ"),
            "interconnect_latency_ns": grab(block, p + "ic latency is:", "ns"),
            "interconnect_energy_pj": grab(block, p + "ic readDynamicEnergy is:", "pJ"),
        }
        layer.update(breakdown(block))
        r["layers"].append(layer)
    return r


def git_head(git_dir):
    return subprocess.run(["git", "--git-dir", git_dir, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--git", required=True, help="git dir of neurosim/DNN_NeuroSim_V1.3")
    ap.add_argument("--tool", default=DEFAULT_TOOL, help="path of shared/tools/neurosim.sh")
    ap.add_argument("--work", default="/tmp/neurosim-reference", help="build and trace dir")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", help="setting names (or prefixes) to run")
    ap.add_argument("--force", action="store_true", help="rerun settings already stored")
    a = ap.parse_args()
    if not os.path.isfile(a.tool):
        sys.exit(f"--tool {a.tool}: no such file (shared/tools/neurosim.sh)")
    if not os.path.isdir(a.git):
        sys.exit(f"--git {a.git}: not a directory")
    os.makedirs(os.path.join(a.work, "nets"), exist_ok=True)
    os.makedirs(os.path.join(a.work, "logs"), exist_ok=True)
    store = {"runs": []}
    if os.path.exists(a.out):
        with open(a.out) as f:
            store = json.load(f)
    head = git_head(a.git)
    store["neurosim_commit"] = head
    store["traces"] = ("neurosim-traces.py seed 0: 8-bit weights ~ N(0, 0.2) clipped to the "
                       "WAGE range and quantised; 8-bit inputs, sign bit 0, other bits 1 with "
                       "p = 0.1 * 8 / 7 (mean bit activity 0.10)")
    store["energy"] = "dynamic + leakage per image, without the 1.22 post-layout factor"
    store["networks"] = {k: f() for k, f in NETWORKS.items()}
    done = {r["name"]: r for r in store["runs"]}
    for s in GRID:
        name = name_of(s)
        if a.only and not any(name.startswith(o) for o in a.only):
            continue
        if name in done and not a.force:
            continue
        layers = NETWORKS[s["model"]]()
        net = os.path.join(a.work, "nets", f"{s['model']}.csv")
        with open(net, "w") as f:
            f.writelines(",".join(map(str, l)) + "\n" for l in layers)
        t0 = time.time()
        proc = subprocess.run(["bash", a.tool, a.git, a.work, net] + param_edits(s),
                              capture_output=True, text=True)
        log = proc.stdout + proc.stderr
        with open(os.path.join(a.work, "logs", name + ".log"), "w") as f:
            f.write(log)
        if proc.returncode != 0 and "Summary" not in log:
            print(f"{name}: neurosim.sh failed ({proc.returncode}), see the log", file=sys.stderr)
            continue
        result = parse(log, len(layers))
        run = dict(name=name, **s, param_edits=param_edits(s),
                   wall_s=round(time.time() - t0, 1), **result)
        done[name] = run
        store["runs"] = [done[name_of(g)] for g in GRID if name_of(g) in done]
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(store, f, indent=1)
        os.replace(tmp, a.out)
        brief = result.get("refused") or "area {:.4g} um2, latency {:.4g} ns, energy {:.4g} pJ, clock {} ns".format(
            result["area_um2"], result["latency_ns"], result["energy_pj"], result["clock_period_ns"])
        print(f"{name}: {brief} ({run['wall_s']} s)", flush=True)


if __name__ == "__main__":
    main()
