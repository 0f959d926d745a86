//! `pipeline bench train`: training throughput of a network on random CIFAR-shaped data
//! (forward + backward + SGD step), in software and on simulated crossbars (ReSNA's
//! noisy pass: tiles, DAC, per-slice ADC, fresh cell noise), against candle's own
//! convolution as the baseline in the same run, and against PyTorch on the same threads
//! when `python3 -c "import torch"` works; and inference, in software and on the
//! crossbars with frozen ranges (the study's noisy evaluation), against PyTorch's clean
//! inference and, with `--pytorx DIR`, against PytorX's noisy inference on the same
//! crossbars (the paper's own simulator).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stages::arch::ModelName;
use stages::crossbar::{characterise, NoiseParams};
use stages::crossbar_sim::{CellNoise, Chip};
use stages::design::Design;
use stages::models::{ConvBackend, LayerOps, Network};
use stages::training::injection::CrossbarOps;
use stages::training::sgd::Sgd;

/// The PyTorch and PytorX reference script: PyTorch's ResNet20 runs when torch is
/// importable, PytorX's with `--pytorx`.
const REFERENCE_SCRIPT: &str = include_str!("../../../bench/torch_resnet20.py");

/// `pipeline bench train` options.
#[derive(Args, Debug)]
pub struct TrainBenchArgs {
    /// The network.
    #[arg(long, default_value = "resnet20")]
    model: ModelName,
    /// Images per step.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Timed steps per configuration (after one warm-up step).
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Skip the candle-conv baseline (it is about 5x slower).
    #[arg(long)]
    no_baseline: bool,
    /// Skip PyTorch even if it is installed.
    #[arg(long)]
    no_torch: bool,
    /// Also time the noisy pass at every cell resolution 1..=8, with the per-slice ADC
    /// and with an ideal ADC (slices folded into one product).
    #[arg(long)]
    per_cell_bits: bool,
    /// Also time PytorX's noisy inference of ResNet20 on the same corner and threads:
    /// the `python` folder of a CPU copy of PytorX (made by
    /// `../shared/tools/pytorx-cpu.sh`). It is slow: about 7 s per step of 128 images.
    #[arg(long, value_name = "DIR")]
    pytorx: Option<PathBuf>,
}

/// Images per second of `steps` timed training steps.
fn throughput(
    net: &Network,
    ops: Option<&dyn LayerOps>,
    batch: &(Tensor, Tensor),
    steps: usize,
) -> Result<f64> {
    let mut sgd = Sgd::new(net.trainable(), 0.9, 5e-4)?;
    images_per_second(batch, steps, || {
        let logits = forward(net, ops, &batch.0, true)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &batch.1)?;
        sgd.step(&loss.backward()?, 0.01)?;
        Ok(())
    })
}

/// Images per second of inference (eval-mode forward passes, no gradient), in software
/// or, with `ops`, on the crossbars.
fn eval_throughput(
    net: &Network,
    ops: Option<&dyn LayerOps>,
    batch: &(Tensor, Tensor),
    steps: usize,
) -> Result<f64> {
    images_per_second(batch, steps, || {
        forward(net, ops, &batch.0, false)?.detach();
        Ok(())
    })
}

/// The logits of `images`, on the crossbars with `ops`, in software without.
fn forward(
    net: &Network,
    ops: Option<&dyn LayerOps>,
    images: &Tensor,
    train: bool,
) -> Result<Tensor> {
    Ok(match ops {
        Some(ops) => net.forward_t(images, train, ops)?,
        None => net.forward_clean(images, train)?,
    })
}

/// Images per second of `steps` timed calls of `step` on `batch`, after one untimed
/// warm-up call.
fn images_per_second(
    batch: &(Tensor, Tensor),
    steps: usize,
    mut step: impl FnMut() -> Result<()>,
) -> Result<f64> {
    step()?;
    let start = Instant::now();
    for _ in 0..steps {
        step()?;
    }
    Ok((steps * batch.0.dim(0)?) as f64 / start.elapsed().as_secs_f64())
}

/// The process's peak resident memory, MiB (Linux), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs the benchmark and prints `name: value` lines.
pub fn train(args: &TrainBenchArgs) -> Result<()> {
    if args.batch < 2 || args.steps == 0 {
        bail!("--batch must be at least 2 and --steps at least 1");
    }
    if let Some(dir) = &args.pytorx {
        if args.model != ModelName::ResNet20 {
            bail!("--pytorx times ResNet20 only; drop --model or --pytorx");
        }
        if !dir.join("torx/module/layer.py").is_file() {
            bail!(
                "--pytorx {}: no torx/module/layer.py there (make a CPU copy of PytorX with \
                 ../shared/tools/pytorx-cpu.sh and pass its python folder)",
                dir.display()
            );
        }
    }
    let device = Device::Cpu;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n = args.batch;
    let pixels: Vec<f32> = (0..n * 3 * 32 * 32)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let labels: Vec<u32> = (0..n).map(|_| rng.random_range(0..10)).collect();
    let batch = (
        Tensor::from_vec(pixels, (n, 3, 32, 32), &device)?,
        Tensor::from_vec(labels, n, &device)?,
    );
    let mut net = Network::new(args.model, 32, 10, 1, &device)?;
    // ReSNA's training pass on a noisy corner: 1 GHz, 400 K, 128x128 crossbars, the
    // default (PytorX) noise model.
    let ops = |cell_bits: u8, ideal_adc: bool| -> Result<CrossbarOps> {
        let design = Design::noisiest_corner(cell_bits, 128);
        let noise = NoiseParams {
            ideal_adc,
            ..NoiseParams::default()
        };
        let chip = Arc::new(Chip::new(characterise(&design, &noise)?));
        Ok(CrossbarOps::new(
            chip,
            CellNoise::Full,
            &net.layers(),
            (1.0, 0.5),
            ChaCha8Rng::seed_from_u64(2),
        ))
    };
    println!(
        "bench train: {} batch {n}, {} timed steps, {} threads",
        args.model,
        args.steps,
        candle_core::utils::get_num_threads()
    );
    let clean = throughput(&net, None, &batch, args.steps)?;
    println!("img_per_s_clean: {clean:.1}");
    let noisy = throughput(&net, Some(&ops(8, false)?), &batch, args.steps)?;
    println!("img_per_s_noisy: {noisy:.1}");
    println!("noise_overhead: {:.3}", clean / noisy);
    if args.per_cell_bits {
        for bits in 1..=8u8 {
            let adc = throughput(&net, Some(&ops(bits, false)?), &batch, args.steps)?;
            let ideal = throughput(&net, Some(&ops(bits, true)?), &batch, args.steps)?;
            println!("img_per_s_noisy_{bits}bit: {adc:.1}");
            println!("img_per_s_noisy_{bits}bit_ideal_adc: {ideal:.1}");
            println!("noise_overhead_{bits}bit: {:.3}", clean / adc);
        }
    }
    let eval = eval_throughput(&net, None, &batch, args.steps)?;
    println!("img_per_s_eval: {eval:.1}");
    // The study's noisy inference: detached weights, ranges calibrated on one batch and
    // frozen, a fresh noise draw per layer call.
    let inference = ops(8, false)?.for_inference();
    inference.start_calibration();
    net.forward_t(&batch.0, false, &inference)?;
    inference.freeze()?;
    let noisy_eval = eval_throughput(&net, Some(&inference), &batch, args.steps)?;
    println!("img_per_s_noisy_eval: {noisy_eval:.1}");
    if !args.no_baseline {
        net.set_conv_backend(ConvBackend::Candle);
        let base = throughput(&net, None, &batch, args.steps)?;
        net.set_conv_backend(ConvBackend::Fast);
        println!("img_per_s_clean_candle_conv: {base:.1}");
        println!("speedup_vs_candle_conv: {:.2}", clean / base);
    }
    if let Some(peak) = peak_rss_mib() {
        println!("peak_rss_mib: {peak:.0}");
    }
    if !args.no_torch && args.model == ModelName::ResNet20 {
        torch_reference(args, clean, noisy_eval);
    }
    if let Some(dir) = &args.pytorx {
        pytorx_reference(args, dir, noisy_eval)?;
    }
    Ok(())
}

/// Runs the PyTorch ResNet20 on the same threads, if torch is installed, and prints our
/// training and noisy-inference speeds as ratios to its training and inference speeds.
fn torch_reference(args: &TrainBenchArgs, candle_clean: f64, noisy_eval: f64) {
    match run_python("torch", args, None) {
        Some(text) => {
            print!("{text}");
            if let Some(t) = printed_value(&text, "torch_img_per_s_clean") {
                println!("ratio_vs_torch: {:.3}", candle_clean / t);
            }
            if let Some(t) = printed_value(&text, "torch_img_per_s_eval") {
                println!("noisy_eval_ratio_vs_torch_eval: {:.3}", noisy_eval / t);
            }
        }
        None => println!("torch: not available (pip install torch to compare)"),
    }
}

/// Runs PytorX's ResNet20 noisy inference from `dir` on the same threads and prints our
/// noisy-inference speed as a ratio to it; an error if it does not run.
fn pytorx_reference(args: &TrainBenchArgs, dir: &Path, noisy_eval: f64) -> Result<()> {
    let Some(text) = run_python("pytorx", args, Some(dir)) else {
        bail!(
            "--pytorx {}: PytorX's ResNet20 did not run (needs torch; run \
             PYTHONPATH={} python3 bench/torch_resnet20.py pytorx 8 1 1 to see why)",
            dir.display(),
            dir.display()
        );
    };
    print!("{text}");
    if let Some(t) = printed_value(&text, "pytorx_img_per_s_noisy_eval") {
        println!("noisy_eval_ratio_vs_pytorx: {:.2}", noisy_eval / t);
    }
    Ok(())
}

/// The standard output of the reference script in `mode` on the benchmark's batch, steps
/// and threads (with `python_path` as `PYTHONPATH`), or `None` if it fails.
fn run_python(mode: &str, args: &TrainBenchArgs, python_path: Option<&Path>) -> Option<String> {
    let threads = candle_core::utils::get_num_threads().to_string();
    let mut command = Command::new("python3");
    command.args(["-c", REFERENCE_SCRIPT, mode]).args([
        &args.batch.to_string(),
        &args.steps.to_string(),
        &threads,
    ]);
    if let Some(path) = python_path {
        command.env("PYTHONPATH", path);
    }
    match command.output() {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).into_owned()),
        _ => None,
    }
}

/// The number a reference script printed as `key: value`.
fn printed_value(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
        .and_then(|v| v.trim().parse().ok())
}
