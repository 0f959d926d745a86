//! The commands of the command line, one module each. They import the core modules of
//! the crate and never each other (a test checks it).

pub mod bench_gp;
pub mod bench_optimizer;
pub mod bench_ppa;
pub mod bench_train;
pub mod noise;
pub mod ppa;
pub mod query;
pub mod replay;
pub mod run;
pub mod status;
pub mod strategies;
pub mod sweep;
