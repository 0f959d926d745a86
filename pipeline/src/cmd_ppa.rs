//! `pipeline ppa`: the PPA model on one design, as researchers use NeuroSim on its own.

use anyhow::Result;
use clap::Args;
use stages::arch::ModelName;
use stages::design::Design;
use stages::ppa;
use stages::ppa_params::PpaParams;

/// One design and network.
#[derive(Args, Debug)]
pub struct PpaArgs {
    /// Network: cnn_small, resnet20, resnet32, resnet44, vgg8, vgg11, vgg13.
    #[arg(long, default_value = "resnet20")]
    model: ModelName,
    /// Bits per cell (1..=8).
    #[arg(long, default_value_t = 2)]
    cell_bits: u8,
    /// Crossbar size (a power of two, at least 8).
    #[arg(long, default_value_t = 128)]
    xbar_size: u32,
    /// Operating frequency, Hz.
    #[arg(long, default_value_t = 5e8)]
    freq_hz: f64,
    /// Temperature, K.
    #[arg(long, default_value_t = 350.0)]
    temp_k: f64,
    /// ADC resolution, bits (1..=12).
    #[arg(long, default_value_t = 5)]
    adc_bits: u8,
    /// Read voltage, V.
    #[arg(long, default_value_t = 0.2)]
    read_voltage: f64,
    /// Lowest conductance, S.
    #[arg(long, default_value_t = 3.33e-7)]
    g_min: f64,
    /// Highest conductance, S.
    #[arg(long, default_value_t = 3.33e-4)]
    g_max: f64,
    /// Technology node, nm.
    #[arg(long)]
    tech_node_nm: Option<f64>,
    /// Input image side (CIFAR: 32).
    #[arg(long, default_value_t = 32)]
    input_hw: usize,
    /// Number of classes.
    #[arg(long, default_value_t = 10)]
    num_classes: usize,
    /// Print JSON (totals at the top level, then the breakdowns and layers).
    #[arg(long)]
    json: bool,
}

/// Runs the PPA model and prints its report.
pub fn ppa(a: &PpaArgs) -> Result<()> {
    let design = Design {
        cell_bits: a.cell_bits,
        xbar_size: a.xbar_size,
        freq_hz: a.freq_hz,
        temp_k: a.temp_k,
        adc_bits: a.adc_bits,
        read_voltage: a.read_voltage,
        g_min: a.g_min,
        g_max: a.g_max,
    };
    let mut params = PpaParams::default();
    if let Some(node) = a.tech_node_nm {
        params.tech_node_nm = node;
    }
    let r = ppa::estimate(a.model, a.input_hw, a.num_classes, &design, &params)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "{} on {}-bit cells, {}x{} crossbars, {:.3e} Hz, {} K, {}-bit ADC",
        a.model, a.cell_bits, a.xbar_size, a.xbar_size, a.freq_hz, a.temp_k, a.adc_bits
    );
    println!(
        "area     {:>14.1} um^2  ({:.3} mm^2)",
        r.area_um2,
        r.area_um2 / 1e6
    );
    println!("latency  {:>14.1} ns", r.latency_ns);
    println!(
        "energy   {:>14.1} pJ    (power {:.3} mW)",
        r.energy_pj,
        r.power_mw()
    );
    println!("tiles    {:>14}", r.total_tiles);
    println!(
        "TOPS/W {:.4}   TOPS/mm^2 {:.4}",
        r.tops_per_w, r.tops_per_mm2
    );
    println!();
    println!(
        "{:<12} {:>6} {:>6} {:>6} {:>12} {:>12} {:>12} {:>12}",
        "layer", "rows", "cols", "tiles", "MACs", "area um^2", "latency ns", "energy pJ"
    );
    for l in &r.layers {
        println!(
            "{:<12} {:>6} {:>6} {:>6} {:>12} {:>12.1} {:>12.1} {:>12.1}",
            l.name, l.rows, l.cols, l.tiles, l.macs, l.area_um2, l.latency_ns, l.energy_pj
        );
    }
    Ok(())
}
