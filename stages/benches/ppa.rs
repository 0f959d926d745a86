//! Benchmark of the PPA models: one ResNet20 estimate on the paper's crossbar setting
//! (32 nm, 2-bit cells, 128x128 arrays, 500 MHz requested, 350 K, 5-bit ADC, 0.2 V,
//! PytorX conductance range), with the `neurosim` model and the `analytic` one.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use stages::arch::ModelName;
use stages::design::Design;
use stages::ppa::{self, PpaModel, PpaParams};

fn paper_design() -> Design {
    Design {
        cell_bits: 2,
        xbar_size: 128,
        freq_hz: 5e8,
        temp_k: 350.0,
        adc_bits: 5,
        read_voltage: 0.2,
        g_min: 3.33e-8,
        g_max: 3.33e-4,
    }
}

fn estimate_resnet20(c: &mut Criterion) {
    let design = paper_design();
    for model in [PpaModel::Neurosim, PpaModel::Analytic] {
        let params = PpaParams {
            model,
            ..PpaParams::default()
        };
        c.bench_function(&format!("{model} estimate resnet20 32nm 2b 128x128"), |b| {
            b.iter(|| {
                ppa::estimate(
                    black_box(ModelName::ResNet20),
                    black_box(32),
                    black_box(10),
                    black_box(&design),
                    black_box(&params),
                )
                .expect("valid design")
            })
        });
    }
}

criterion_group!(benches, estimate_resnet20);
criterion_main!(benches);
