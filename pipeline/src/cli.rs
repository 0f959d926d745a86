//! The command line: its arguments and the dispatch to each command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{
    bench_gp, bench_optimizer, bench_ppa, bench_train, noise, ppa, query, replay, run, status,
    strategies, sweep,
};
use crate::setup::{LedgerArgs, StudyArgs};
use crate::{session, worker};

/// Multi-objective, multi-fidelity search of ReRAM crossbar designs for robust DNN
/// inference (ReSNA noise-aware training + CF-MESMO), as a cached, resumable pipeline.
#[derive(Parser, Debug)]
#[command(name = "pipeline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run (or resume) a study.
    Run {
        #[command(flatten)]
        study: StudyArgs,
        /// Recompute this stage even where cached (repeatable): dataset_prep, crossbar, ppa,
        /// baseline_train, resna_train, noisy_eval, gp_fit.
        #[arg(long, value_name = "STAGE")]
        recompute: Vec<String>,
        /// Start afresh when the config's problem changed: the old study's whole state
        /// (ledger, metrics, proposals, tasks, Slurm records) is archived under
        /// <study>/archive/<unix time>/, never deleted.
        #[arg(long)]
        new_study: bool,
        #[command(flatten)]
        execution: session::ExecutionArgs,
    },
    /// Evaluate every design of a full-factorial grid at every fidelity (a table for
    /// `pipeline bench replay`), with the same cache, ledger, executors and resume as
    /// `run`.
    Sweep(sweep::SweepArgs),
    /// Evaluate one pending task of a study (what the executors run; a task run twice
    /// leaves one ledger row).
    Worker {
        /// The study directory.
        #[arg(long, env = "XBAR_STUDY")]
        study: PathBuf,
        /// The shared store.
        #[arg(long, env = "XBAR_CACHE")]
        cache: PathBuf,
        /// The task id (a file under <study>/tasks/).
        #[arg(long)]
        task: String,
    },
    /// Print the sbatch script the Slurm executor submits for a study's unfinished
    /// tasks, to inspect or adapt.
    SlurmScript {
        #[command(flatten)]
        study: StudyArgs,
        #[command(flatten)]
        slurm: session::SlurmArgs,
    },
    /// Write a study's report (HTML with plots, summary.md, pareto.csv) under
    /// <study>/report/; `pipeline run` writes it too.
    Report {
        #[command(flatten)]
        study: StudyArgs,
        /// Other study directories whose hypervolume curves to compare (repeatable).
        #[arg(long, value_name = "DIR")]
        compare: Vec<PathBuf>,
    },
    /// Write the default study config, commented, for editing.
    Init {
        /// Where to write it.
        #[arg(default_value = "xbar-study.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Summarise a study from its ledger.
    Status {
        #[command(flatten)]
        study: LedgerArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a study's evaluations as one Parquet or CSV file.
    Export {
        #[command(flatten)]
        study: LedgerArgs,
        /// Output file, .parquet or .csv.
        #[arg(long)]
        out: PathBuf,
        /// Which table: the ledger, the per-epoch metrics, or the Pareto set.
        #[arg(long, value_enum, default_value = "evaluations")]
        what: status::ExportTable,
    },
    /// Polars SQL over a study's tables (evaluations, metrics, proposals, runs), printed as
    /// a table or written to a Parquet or CSV file.
    Query(query::QueryArgs),
    /// Estimate area, latency and energy of one design (the PPA model on its own).
    Ppa(ppa::PpaArgs),
    /// What one design's crossbars do to each layer of the study's network: tiles, row
    /// voltages, per-level sigma, relative output noise (the noise model on its own).
    Noise(noise::NoiseArgs),
    /// The paper's robustness table: every training strategy (noise-unaware, Gaussian,
    /// programming-only, ReSNA, ReSNA + FC vote) at given design corners, at full
    /// fidelity, through the study's cached stage graph.
    Strategies(strategies::StrategiesArgs),
    /// Benchmarks (figures as ratios against a baseline run in the same process).
    Bench {
        #[command(subcommand)]
        which: BenchWhich,
    },
    /// Inspect the shared store.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
}

#[derive(Subcommand, Debug)]
enum BenchWhich {
    /// CF-MESMO, MESMO, NSGA-II and random search on synthetic multi-fidelity problems.
    Optimizer(bench_optimizer::OptimizerBenchArgs),
    /// The strategies raced on a sweep's table of real evaluations (`pipeline sweep`),
    /// each evaluation answered with its recorded objectives and cost.
    Replay(replay::ReplayArgs),
    /// Training throughput (img/s) of a network, clean and noisy, against candle's conv
    /// and (if installed) PyTorch on the same threads.
    Train(bench_train::TrainBenchArgs),
    /// The PPA models side by side with DNN+NeuroSim V1.3's own runs, with the rank
    /// correlations and the time of one estimate.
    Ppa(bench_ppa::PpaBenchArgs),
    /// The GP's hyperparameter fits (MAP, maximum likelihood) against BoTorch's
    /// SingleTaskGP: held-out predictive log-likelihood on the published problems.
    Gp(bench_gp::GpBenchArgs),
}

#[derive(Subcommand, Debug)]
enum CacheAction {
    /// Re-hash every object; corrupted ones are quarantined and will be recomputed.
    Verify {
        /// The store. Default: $XDG_CACHE_HOME/xbar-opt or ~/.cache/xbar-opt.
        #[arg(long, env = "XBAR_CACHE")]
        cache: Option<PathBuf>,
    },
}

/// Keeps freed memory in the process: training allocates and frees tensors of a few MB
/// in every operation, and glibc's default of returning them to the kernel made page
/// faults about a tenth of training time.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only changes allocator tuning parameters; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

/// Parses the command line, runs the command and turns its error into a one-line
/// message and a non-zero exit.
pub fn main() -> ExitCode {
    keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("XBAR_LOG")
                // egobox-gp warns on every fit with repeated inputs, which a GP with a
                // noise term keeps on purpose as replicates.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,egobox_gp=error")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        // Colour only on a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            study,
            recompute,
            new_study,
            execution,
        } => run::run(&study, &recompute, new_study, &execution),
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Worker { study, cache, task } => worker::run_worker(&study, &cache, &task),
        Command::SlurmScript { study, slurm } => run::slurm_script(&study, &slurm),
        Command::Init { path, force } => run::init(&path, force),
        Command::Status { study, json } => status::status(&study.study_args(), json),
        Command::Export { study, out, what } => status::export(&study.study_args(), what, &out),
        Command::Query(args) => query::query(&args),
        Command::Ppa(args) => ppa::ppa(&args),
        Command::Noise(args) => noise::noise(&args),
        Command::Strategies(args) => strategies::strategies(&args),
        Command::Report { study, compare } => run::report(&study, &compare),
        Command::Bench {
            which: BenchWhich::Optimizer(args),
        } => bench_optimizer::optimizer(&args),
        Command::Bench {
            which: BenchWhich::Replay(args),
        } => replay::replay(&args),
        Command::Bench {
            which: BenchWhich::Train(args),
        } => bench_train::train(&args),
        Command::Bench {
            which: BenchWhich::Ppa(args),
        } => bench_ppa::ppa(&args),
        Command::Bench {
            which: BenchWhich::Gp(args),
        } => bench_gp::gp(&args),
        Command::Cache {
            action: CacheAction::Verify { cache },
        } => status::verify_cache(cache),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
