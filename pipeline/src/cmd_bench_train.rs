//! `pipeline bench train`: training throughput of a network on random CIFAR-shaped data
//! (forward + backward + SGD step), clean and with per-pass crossbar noise, against
//! candle's own convolution as the baseline in the same run, and against PyTorch on
//! the same threads when `python3 -c "import torch"` works.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stages::arch::ModelName;
use stages::crossbar::{characterise, NoiseParams};
use stages::design::Design;
use stages::mapping::WeightNoise;
use stages::models::{ConvBackend, Network};
use stages::training::injection::{NoiseInjector, NoiseKind};
use stages::training::sgd::Sgd;

/// The PyTorch reference script, run when torch is importable.
const TORCH_SCRIPT: &str = include_str!("../../bench/torch_train.py");

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
}

/// Images per second of `steps` timed training steps.
fn throughput(
    net: &Network,
    injector: Option<&NoiseInjector>,
    batch: &(Tensor, Tensor),
    steps: usize,
) -> Result<f64> {
    let mut sgd = Sgd::new(net.trainable(), 0.9, 5e-4)?;
    let mut step = || -> Result<()> {
        let logits = match injector {
            Some(inj) => net.forward_t(&batch.0, true, &|i, w| inj.straight_through(i, w))?,
            None => net.forward_clean(&batch.0, true)?,
        };
        let loss = candle_nn::loss::cross_entropy(&logits, &batch.1)?;
        sgd.step(&loss.backward()?, 0.01)?;
        Ok(())
    };
    step()?;
    let start = Instant::now();
    for _ in 0..steps {
        step()?;
    }
    Ok((steps * batch.0.dim(0)?) as f64 / start.elapsed().as_secs_f64())
}

/// Images per second of inference (eval-mode forward passes, no gradient).
fn eval_throughput(net: &Network, batch: &(Tensor, Tensor), steps: usize) -> Result<f64> {
    net.forward_clean(&batch.0, false)?;
    let start = Instant::now();
    for _ in 0..steps {
        net.forward_clean(&batch.0, false)?.detach();
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
    // A noisy corner of the design space: 4-bit cells, 1 GHz, 400 K.
    let design = Design::noisiest_corner(4, 128);
    let noise = WeightNoise::new(&characterise(&design, &NoiseParams::default())?, 4);
    let injector = NoiseInjector::new(
        NoiseKind::Crossbar(noise),
        &net.layers(),
        1.0,
        0.5,
        ChaCha8Rng::seed_from_u64(2),
    );
    println!(
        "bench train: {} batch {n}, {} timed steps, {} threads",
        args.model,
        args.steps,
        candle_core::utils::get_num_threads()
    );
    let clean = throughput(&net, None, &batch, args.steps)?;
    println!("img_per_s_clean: {clean:.1}");
    let noisy = throughput(&net, Some(&injector), &batch, args.steps)?;
    println!("img_per_s_noisy: {noisy:.1}");
    println!("noise_overhead: {:.3}", clean / noisy);
    let eval = eval_throughput(&net, &batch, args.steps)?;
    println!("img_per_s_eval: {eval:.1}");
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
        torch_reference(args, clean)?;
    }
    Ok(())
}

/// Runs the PyTorch ResNet20 on the same threads, if torch is installed.
fn torch_reference(args: &TrainBenchArgs, candle_clean: f64) -> Result<()> {
    let threads = candle_core::utils::get_num_threads().to_string();
    let out = Command::new("python3")
        .args(["-c", TORCH_SCRIPT])
        .args([&args.batch.to_string(), &args.steps.to_string(), &threads])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            print!("{text}");
            let torch: Option<f64> = text
                .lines()
                .find_map(|l| l.strip_prefix("torch_img_per_s_clean: "))
                .and_then(|v| v.trim().parse().ok());
            if let Some(t) = torch {
                println!("ratio_vs_torch: {:.3}", candle_clean / t);
            }
        }
        _ => println!("torch: not available (pip install torch to compare)"),
    }
    Ok(())
}
