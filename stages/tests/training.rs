//! Training on the embedded mini CIFAR-10 with the small CNN: learning, determinism,
//! exact warm starts, and ReSNA against the noise-unaware baseline under the paper's
//! noisy corner with the default device constants.

use std::sync::{Arc, OnceLock};

use candle_core::Device;
use rand_chacha::ChaCha8Rng;
use stages::arch::ModelName;
use stages::crossbar::{characterise, NoiseParams};
use stages::crossbar_sim::Chip;
use stages::dataset::{prepare, DataSource, DatasetParams, PreparedDataset};
use stages::design::Design;
use stages::noise_probe::probe;
use stages::training::batches::{make_batch, Normalisation};
use stages::training::evaluate::{evaluate, Accuracy};
use stages::training::params::{NoiseStrategy, TrainingParams};
use stages::training::train::{finetune, pretrain, TrainState};

fn data() -> &'static PreparedDataset {
    static DATA: OnceLock<PreparedDataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let params = DatasetParams {
            source: DataSource::Embedded,
            train_subset: Some(2000),
            test_subset: Some(1000),
        };
        prepare(&params, 1).unwrap()
    })
}

fn tiny_data() -> PreparedDataset {
    let params = DatasetParams {
        source: DataSource::Embedded,
        train_subset: Some(128),
        test_subset: Some(64),
    };
    prepare(&params, 2).unwrap()
}

fn params() -> TrainingParams {
    TrainingParams {
        batch_size: 64,
        baseline_epochs: 8,
        baseline_lr: 0.05,
        finetune_lr: 0.01,
        ..TrainingParams::default()
    }
}

/// 8-bit cells at 1 GHz and 400 K on 128x128 crossbars (the paper's second corner),
/// with the default device constants of the default (PytorX) model.
fn strong_noise() -> Arc<Chip> {
    noise_with(NoiseParams::default())
}

fn noise_with(params: NoiseParams) -> Arc<Chip> {
    let d = Design {
        adc_bits: 8,
        ..Design::noisiest_corner(8, 128)
    };
    Arc::new(Chip::new(characterise(&d, &params).unwrap()))
}

fn baseline() -> &'static Vec<u8> {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        let (state, records) = pretrain(
            ModelName::CnnSmall,
            data(),
            &params(),
            7,
            &Device::Cpu,
            &|_, _| Ok(()),
        )
        .unwrap();
        eprintln!("baseline: {records:?}");
        state.to_bytes().unwrap()
    })
}

/// The shared baseline as a training state under `p` (with a fresh optimiser if asked).
fn trained_baseline(p: &TrainingParams, fresh_optimiser: bool) -> TrainState {
    TrainState::from_bytes(
        baseline(),
        ModelName::CnnSmall,
        data(),
        p,
        fresh_optimiser,
        &Device::Cpu,
    )
    .unwrap()
}

#[test]
fn the_small_cnn_learns_mini_cifar_well_above_chance() {
    let p = params();
    let state = trained_baseline(&p, false);
    assert_eq!(state.epochs, 8);
    let chip = strong_noise();
    let acc = evaluate(
        &state.net,
        data(),
        &chip,
        (1, false),
        250,
        1,
        &|_, _| Ok(()),
    )
    .unwrap();
    eprintln!("clean accuracy {}", acc.clean);
    // Chance is 0.10.
    assert!(acc.clean > 0.30, "clean accuracy {}", acc.clean);

    // The majority vote over three noisy reads of the last FC layer is a different,
    // reproducible measurement.
    let score = |vote| {
        evaluate(&state.net, data(), &chip, (2, vote), 250, 5, &|_, _| Ok(()))
            .unwrap()
            .mean
    };
    let voted = score(true);
    assert!((0.0..=1.0).contains(&voted));
    assert_eq!(voted, score(true));
    assert_ne!(voted, score(false));
}

/// ReSNA against the same network without noise-aware training, under strong noise.
/// At this scale (2,000 images, 8 epochs) a fine-tuning run's outcome varies by a few
/// points with its seed, more than ReSNA's edge over noise-free fine-tuning, so the
/// comparison pools three fine-tuning seeds (11, 12, 13), each run paired with its
/// control on the same seed.
#[test]
fn resna_beats_the_noise_unaware_model_under_strong_noise() {
    let p = TrainingParams {
        finetune_lr: 0.1,
        fc_noise_scale: 0.25,
        ..params()
    };
    let chip = strong_noise();
    // Passes run in the chip's inference batch (PytorX's 100): one noise draw per
    // forward call, shared by the batch, so a draw's accuracy varies by several points.
    let score = |state: &TrainState| {
        evaluate(&state.net, data(), &chip, (16, false), 100, 3, &|_, _| {
            Ok(())
        })
        .unwrap()
    };
    let fresh = || trained_baseline(&p, true);
    let unaware = score(&fresh());
    // The same fine-tuning on the same chip without its noise (programming-only
    // training with the programming noise off): what the extra epochs alone give.
    let silent = noise_with(NoiseParams {
        programming_sigma_levels: 0.0,
        ..NoiseParams::default()
    });
    let clean_params = TrainingParams {
        strategy: NoiseStrategy::ProgrammingOnly,
        ..p.clone()
    };
    let (mut resna, mut control) = (Vec::new(), Vec::new());
    for seed in [11, 12, 13] {
        let mut tuned = fresh();
        finetune(&mut tuned, data(), &p, &chip, 8, seed, &|_, _| Ok(())).unwrap();
        resna.push(score(&tuned));
        let mut tuned = fresh();
        finetune(
            &mut tuned,
            data(),
            &clean_params,
            &silent,
            8,
            seed,
            &|_, _| Ok(()),
        )
        .unwrap();
        control.push(score(&tuned));
    }
    let pooled = |runs: &[Accuracy]| -> Vec<f64> {
        runs.iter().flat_map(|a| a.draws.iter().copied()).collect()
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (resna_draws, control_draws) = (pooled(&resna), pooled(&control));
    eprintln!("unaware {unaware:?}\nresna {resna:?}\nnoise-free fine-tuning {control:?}");
    assert!(
        unaware.mean < unaware.clean - 0.03,
        "the noise must hurt: {} vs clean {}",
        unaware.mean,
        unaware.clean
    );
    assert!(
        mean(&resna_draws) > unaware.mean + 0.03,
        "ReSNA {} vs noise-unaware {}",
        mean(&resna_draws),
        unaware.mean
    );
    // Fine-tuning without noise gains from the extra epochs too; ReSNA must stay ahead of
    // it on the paired draws (draw d of both models of a seed reads the same noise
    // stream). At this scale the edge is about one point, under two standard errors of
    // the paired difference, so the test asks for its sign, and prints its size.
    let differences: Vec<f64> = resna_draws
        .iter()
        .zip(&control_draws)
        .map(|(r, c)| r - c)
        .collect();
    let n = differences.len() as f64;
    let mean_difference = mean(&differences);
    let variance = differences
        .iter()
        .map(|d| (d - mean_difference).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    let error = (variance / n).sqrt();
    eprintln!("ReSNA - noise-free fine-tuning: {mean_difference:.4} (standard error {error:.4})");
    assert!(
        mean_difference > 0.0,
        "ReSNA {} vs noise-free fine-tuning {} (standard error {error})",
        mean(&resna_draws),
        mean(&control_draws)
    );
}

#[test]
fn training_is_deterministic_and_warm_starts_are_exact() {
    let data = tiny_data();
    let p = TrainingParams {
        batch_size: 32,
        baseline_epochs: 1,
        ..TrainingParams::default()
    };
    let dev = Device::Cpu;
    let run = |seed| {
        pretrain(ModelName::CnnSmall, &data, &p, seed, &dev, &|_, _| Ok(()))
            .unwrap()
            .0
            .to_bytes()
            .unwrap()
    };
    let hash = |b: &[u8]| blake3::hash(b);
    let base = run(5);
    assert_eq!(hash(&base), hash(&run(5)), "same seed, same model");
    assert_ne!(hash(&base), hash(&run(6)), "another seed, another model");

    let chip = strong_noise();
    let fresh =
        || TrainState::from_bytes(&base, ModelName::CnnSmall, &data, &p, true, &dev).unwrap();
    // Fine-tunes `state` up to `epochs` under the strong noise, seed 9.
    let tune = |state: &mut TrainState, epochs| {
        finetune(state, &data, &p, &chip, epochs, 9, &|_, _| Ok(())).unwrap()
    };
    let mut direct = fresh();
    tune(&mut direct, 3);

    let mut first = fresh();
    tune(&mut first, 1);
    let stored = first.to_bytes().unwrap();
    let mut resumed =
        TrainState::from_bytes(&stored, ModelName::CnnSmall, &data, &p, false, &dev).unwrap();
    assert_eq!(resumed.epochs, 1);
    let records = tune(&mut resumed, 3);
    assert_eq!(
        records.iter().map(|r| r.epoch).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(
        hash(&resumed.to_bytes().unwrap()),
        hash(&direct.to_bytes().unwrap()),
        "a warm start continues exactly"
    );
}

#[test]
fn zero_epochs_and_nan_losses_are_errors_not_panics() {
    let data = tiny_data();
    let dev = Device::Cpu;
    let p = TrainingParams {
        batch_size: 32,
        baseline_epochs: 1,
        ..TrainingParams::default()
    };
    let (mut state, _) = pretrain(ModelName::CnnSmall, &data, &p, 1, &dev, &|_, _| Ok(())).unwrap();
    let chip = strong_noise();
    let err = finetune(&mut state, &data, &p, &chip, 0, 1, &|_, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("0 epochs"), "{err}");
    let wild = TrainingParams {
        finetune_lr: 1e30,
        ..p
    };
    let err = finetune(&mut state, &data, &wild, &chip, 2, 1, &|_, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("loss became"), "{err}");
}

/// The paper's trends (section 5) under the default (PytorX) model and constants, on
/// the small CNN: noise-unaware accuracy falls as the frequency and the crossbar size
/// rise, and with fewer ADC bits, by more than twice the standard error of the
/// difference of the two means (16 draws of 1000 test images each). The temperature
/// and cell-resolution effects are smaller than that error allows to resolve in
/// accuracy here (about 2 points); they are asserted on the noise itself, the relative
/// output noise of every layer, averaged over many cells and outputs.
#[test]
fn noise_unaware_accuracy_follows_the_papers_trends() {
    let state = trained_baseline(&params(), false);
    let corner = Design {
        cell_bits: 8,
        xbar_size: 128,
        freq_hz: 5e8,
        temp_k: 350.0,
        adc_bits: 8,
        read_voltage: 0.2,
        g_min: 3.33e-7,
        g_max: 3.33e-4,
    };
    let chip = |d: &Design| Arc::new(Chip::new(characterise(d, &NoiseParams::default()).unwrap()));
    let score = |d: &Design| {
        evaluate(
            &state.net,
            data(),
            &chip(d),
            (16, false),
            100,
            21,
            &|_, _| Ok(()),
        )
        .unwrap()
    };
    // `better` must beat `worse` by two standard errors of the difference.
    let clearly_better = |what: &str, better: &Design, worse: &Design| {
        let (b, w) = (score(better), score(worse));
        let error =
            (b.std.powi(2) / b.draws.len() as f64 + w.std.powi(2) / w.draws.len() as f64).sqrt();
        eprintln!(
            "{what}: {:.3} vs {:.3} (standard error {error:.3})",
            b.mean, w.mean
        );
        assert!(
            b.mean > w.mean + 2.0 * error,
            "{what}: {} should beat {} by 2 x {error}",
            b.mean,
            w.mean
        );
        (b, w)
    };
    clearly_better(
        "10 MHz over 1 GHz",
        &Design {
            freq_hz: 1e7,
            ..corner
        },
        &Design {
            freq_hz: 1e9,
            ..corner
        },
    );
    clearly_better(
        "32x32 over 128x128",
        &Design {
            xbar_size: 32,
            ..corner
        },
        &corner,
    );
    clearly_better(
        "64x64 over 128x128",
        &Design {
            xbar_size: 64,
            ..corner
        },
        &corner,
    );
    let (eight, four) = clearly_better(
        "8-bit over 4-bit ADC",
        &corner,
        &Design {
            adc_bits: 4,
            ..corner
        },
    );
    assert!(
        eight.clean > four.clean,
        "the ADC costs clean accuracy too: {} vs {}",
        eight.clean,
        four.clean
    );

    // The noise itself, layer by layer, on 100 test images with 16 draws each.
    let norm = Normalisation {
        mean: data().mean,
        std: data().std,
    };
    let indices: Vec<usize> = (0..100).map(|i| i * 10).collect();
    let images = make_batch::<ChaCha8Rng>(&data().test, &indices, &norm, None, &Device::Cpu)
        .unwrap()
        .images;
    let noise = |d: &Design| -> Vec<f64> {
        probe(&state.net, &images, &chip(d), 16, 5)
            .unwrap()
            .iter()
            .map(|l| l.relative_noise)
            .collect()
    };
    let less_noise_everywhere = |what: &str, quieter: &Design, louder: &Design| {
        let (q, l) = (noise(quieter), noise(louder));
        eprintln!("{what}: {q:.3?} vs {l:.3?}");
        for (i, (a, b)) in q.iter().zip(&l).enumerate() {
            assert!(a < b, "{what}, layer {i}: relative noise {a} vs {b}");
        }
    };
    let hot = Design {
        freq_hz: 1e9,
        ..corner
    };
    less_noise_everywhere(
        "300 K under 400 K",
        &Design {
            temp_k: 300.0,
            ..hot
        },
        &Design {
            temp_k: 400.0,
            ..hot
        },
    );
    less_noise_everywhere(
        "10 MHz under 1 GHz",
        &Design {
            freq_hz: 1e7,
            ..corner
        },
        &hot,
    );
    less_noise_everywhere(
        "32x32 under 128x128",
        &Design {
            xbar_size: 32,
            ..corner
        },
        &corner,
    );
    // Fewer bits per pair put less read noise on the small weights that most of a
    // layer's weights are (see `crate::mapping`): the FC layer, where read noise dwarfs
    // everything else, is quieter with 2-bit pairs than with 8-bit ones.
    let (two, eight) = (
        noise(&Design {
            cell_bits: 2,
            ..hot
        }),
        noise(&hot),
    );
    eprintln!("2-bit vs 8-bit pairs: {two:.3?} vs {eight:.3?}");
    assert!(two.last() < eight.last(), "FC: {two:?} vs {eight:?}");
}
