//! `pipeline ppa`: the PPA model on one design, as researchers use NeuroSim on its own:
//! the chip totals, then the breakdown by component and by layer.

use anyhow::Result;
use clap::Args;
use stages::arch::ModelName;
use stages::design::Design;

use crate::setup::DesignArgs;
use stages::ppa::neurosim::{self, ClockPolicy};
use stages::ppa::{self, Breakdown, PpaModel, PpaParams, PpaReport};

/// One design and network.
#[derive(Args, Debug)]
pub struct PpaArgs {
    /// Network: cnn_small, resnet20, resnet32, resnet44, vgg8, vgg11, vgg13.
    #[arg(long, default_value = "resnet20")]
    model: ModelName,
    /// The PPA model: neurosim (DNN+NeuroSim V1.3's accounting) or analytic.
    #[arg(long, default_value = "neurosim")]
    ppa_model: PpaModel,
    #[command(flatten)]
    design: DesignArgs,
    /// A clock above the sensing limit: saturate (NeuroSim's rule: run at the limit) or
    /// refuse.
    #[arg(long, default_value = "saturate")]
    clock: ClockPolicy,
    /// Read voltage, V.
    #[arg(long, default_value_t = 0.2)]
    read_voltage: f64,
    /// Lowest conductance, S.
    #[arg(long, default_value_t = 3.33e-7)]
    g_min: f64,
    /// Highest conductance, S.
    #[arg(long, default_value_t = 3.33e-4)]
    g_max: f64,
    /// Technology node, nm (neurosim: 22, 32, 45, 65, 90 or 130).
    #[arg(long)]
    tech_node_nm: Option<u32>,
    /// Mean input-bit activity (neurosim).
    #[arg(long)]
    input_activity: Option<f64>,
    /// Input image side (CIFAR: 32).
    #[arg(long, default_value_t = 32)]
    input_hw: usize,
    /// Number of classes.
    #[arg(long, default_value_t = 10)]
    num_classes: usize,
    /// Print JSON (totals at the top level, then the breakdowns and the layers).
    #[arg(long)]
    json: bool,
}

impl PpaArgs {
    fn params(&self) -> PpaParams {
        let mut p = PpaParams {
            model: self.ppa_model,
            ..PpaParams::default()
        };
        p.neurosim.clock = self.clock;
        if let Some(node) = self.tech_node_nm {
            p.neurosim.tech_node_nm = node;
            p.analytic.tech_node_nm = f64::from(node);
        }
        if let Some(a) = self.input_activity {
            p.neurosim.input_activity = a;
            p.analytic.input_activity = a;
        }
        p
    }

    /// The design at `freq_hz` where `--freq-hz` is absent.
    fn design(&self, freq_hz: f64) -> Result<Design> {
        let base = Design {
            adc_bits: 5,
            read_voltage: self.read_voltage,
            g_min: self.g_min,
            g_max: self.g_max,
            ..Design::noisiest_corner(self.design.cell_bits, self.design.xbar_size)
        };
        self.design.design(base, freq_hz)
    }
}

/// Runs the PPA model and prints its report.
pub fn ppa(a: &PpaArgs) -> Result<()> {
    let params = a.params();
    let freq = match (a.design.freq_hz, params.model) {
        (Some(f), _) => f,
        (None, PpaModel::Analytic) => 5e8,
        (None, PpaModel::Neurosim) => {
            let probe = a.design(1e9)?;
            ppa::validate_design(&probe)?;
            params.neurosim.validate()?;
            1.0 / neurosim::sensing_period(&probe, &params.neurosim)?
        }
    };
    let design = a.design(freq)?;
    let r = ppa::estimate(a.model, a.input_hw, a.num_classes, &design, &params)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    print_report(a.model, &design, &r);
    Ok(())
}

fn print_report(model: ModelName, d: &Design, r: &PpaReport) {
    println!(
        "{model} on {}-bit cells, {}x{} crossbars, {}-bit ADC, {} K, {} model",
        d.cell_bits, d.xbar_size, d.xbar_size, d.adc_bits, d.temp_k, r.model
    );
    let limit = r
        .max_freq_hz
        .map(|f| format!(" (sensing limit {:.1} MHz)", f / 1e6))
        .unwrap_or_default();
    println!("clock    {:>14.4} ns{limit}", r.clock_ns);
    println!(
        "area     {:>14.1} um^2  ({:.3} mm^2)",
        r.area_um2,
        r.area_um2 / 1e6
    );
    println!("latency  {:>14.1} ns", r.latency_ns);
    println!(
        "energy   {:>14.1} pJ    ({:.1} pJ leakage; power {:.3} mW)",
        r.energy_pj,
        r.leakage_pj,
        r.power_mw()
    );
    println!("tiles    {:>14}", r.tiles);
    println!(
        "TOPS/W {:.4}   TOPS/mm^2 {:.4}",
        r.tops_per_w, r.tops_per_mm2
    );
    println!();
    println!(
        "{:<14} {:>14} {:>14} {:>14}",
        "component", "area um^2", "latency ns", "energy pJ"
    );
    let rows = r
        .area
        .named()
        .into_iter()
        .zip(r.latency.named())
        .zip(r.energy.named());
    for (((name, area), (_, lat)), (_, en)) in rows {
        println!("{name:<14} {area:>14.1} {lat:>14.1} {en:>14.1}");
    }
    println!(
        "{:<14} {:>14} {:>14} {:>14.1}",
        "leakage", "", "", r.leakage_pj
    );
    println!();
    println!(
        "{:<18} {:>6} {:>6} {:>5} {:>6} {:>12} {:>12} {:>12} {:>12}",
        "layer",
        "rows",
        "cols",
        "tiles",
        "copies",
        "area um^2",
        "latency ns",
        "energy pJ",
        "leakage pJ"
    );
    for l in &r.layers {
        println!(
            "{:<18} {:>6} {:>6} {:>5} {:>6} {:>12.1} {:>12.1} {:>12.1} {:>12.1}",
            l.name,
            l.rows,
            l.cols,
            l.tiles,
            l.copies,
            l.area_um2,
            l.latency_ns,
            l.energy_pj,
            l.leakage_pj
        );
    }
    println!();
    print_layer_components("latency by component, ns", r, |l| l.latency);
    print_layer_components("dynamic energy by component, pJ", r, |l| l.energy);
}

fn print_layer_components(title: &str, r: &PpaReport, get: fn(&ppa::LayerPpa) -> Breakdown) {
    println!("{title}");
    let names: Vec<&str> = Breakdown::default()
        .named()
        .iter()
        .map(|(n, _)| *n)
        .collect();
    print!("{:<18}", "layer");
    for n in &names {
        print!(" {n:>12}");
    }
    println!();
    for l in &r.layers {
        print!("{:<18}", l.name);
        for (_, v) in get(l).named() {
            print!(" {v:>12.1}");
        }
        println!();
    }
    println!();
}
