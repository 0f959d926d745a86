//! Training on the embedded mini CIFAR-10 with the small CNN: learning, determinism,
//! exact warm starts, and ReSNA against the noise-unaware baseline under the paper's
//! noisy corner with the default device constants.

use std::sync::{Arc, OnceLock};

use candle_core::Device;
use stages::arch::ModelName;
use stages::crossbar::{characterise, NoiseParams};
use stages::crossbar_sim::Chip;
use stages::dataset::{prepare, DataSource, DatasetParams, PreparedDataset};
use stages::design::Design;
use stages::training::evaluate::evaluate;
use stages::training::params::{NoiseStrategy, TrainingParams};
use stages::training::train::{finetune, pretrain, TrainState};

fn data() -> &'static PreparedDataset {
    static DATA: OnceLock<PreparedDataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let params = DatasetParams {
            source: DataSource::Embedded,
            train_subset: Some(2000),
            test_subset: Some(500),
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
        baseline_epochs: 4,
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

#[test]
fn the_small_cnn_learns_mini_cifar_well_above_chance() {
    let p = params();
    let state = TrainState::from_bytes(
        baseline(),
        ModelName::CnnSmall,
        data(),
        &p,
        false,
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(state.epochs, 4);
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

#[test]
fn resna_beats_the_noise_unaware_model_under_strong_noise() {
    let p = TrainingParams {
        finetune_lr: 0.1,
        fc_noise_scale: 0.25,
        ..params()
    };
    let chip = strong_noise();
    // Batches of 25: PytorX's one noise draw per forward call is shared by a batch, so
    // small batches give a pass more independent draws and the mean a smaller error
    // (the effective voltage is still that of a batch of 100).
    let score = |state: &TrainState| {
        evaluate(
            &state.net,
            data(),
            &chip,
            (16, false),
            25,
            3,
            &|_, _| Ok(()),
        )
        .unwrap()
    };
    let fresh = || {
        TrainState::from_bytes(
            baseline(),
            ModelName::CnnSmall,
            data(),
            &p,
            true,
            &Device::Cpu,
        )
        .unwrap()
    };
    let unaware = score(&fresh());
    let mut resna = fresh();
    finetune(&mut resna, data(), &p, &chip, 8, 11, &|_, _| Ok(())).unwrap();
    let resna = score(&resna);
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
    let mut control = fresh();
    finetune(
        &mut control,
        data(),
        &clean_params,
        &silent,
        8,
        11,
        &|_, _| Ok(()),
    )
    .unwrap();
    let control = score(&control);
    eprintln!("unaware {unaware:?}\nresna {resna:?}\nnoise-free fine-tuning {control:?}");
    assert!(
        unaware.mean < unaware.clean - 0.03,
        "the noise must hurt: {} vs clean {}",
        unaware.mean,
        unaware.clean
    );
    assert!(
        resna.mean > unaware.mean + 0.04,
        "ReSNA {} vs noise-unaware {}",
        resna.mean,
        unaware.mean
    );
    // Fine-tuning without noise gains from the extra epochs too; ReSNA must beat it by
    // more than twice the standard error of the difference of the two means.
    let error = (resna.std.powi(2) / resna.draws.len() as f64
        + control.std.powi(2) / control.draws.len() as f64)
        .sqrt();
    assert!(
        resna.mean > control.mean + 2.0 * error,
        "ReSNA {} vs noise-free fine-tuning {} (standard error {error})",
        resna.mean,
        control.mean
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
