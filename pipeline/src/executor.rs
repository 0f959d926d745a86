//! Executors: how a batch of tasks (see [`crate::worker`]) gets run.
//!
//! - `local --jobs N`: N `pipeline worker` child processes at a time on this machine.
//! - `slurm`: one job array per batch (see [`crate::slurm`]).
//!
//! Either way a task counts as done once its worker wrote its result file; a task whose
//! worker ended without one (crashed, killed, cancelled, timed out, an I/O fault) is run
//! again after a backoff ([`crate::batch::retry_backoff`]), up to `retries` more times; then the
//! coordinator stops the study, recording nothing for it. Local workers stop when the
//! coordinator does, whatever stopped it.

use std::collections::VecDeque;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::batch::Batch;
use crate::interrupt::{Interrupted, INTERRUPTED};
use crate::slurm::SlurmOptions;
use crate::worker;

/// Where and how workers run.
#[derive(Debug, Clone)]
pub enum Executor {
    /// Child processes on this machine.
    Local {
        /// Workers at a time.
        jobs: usize,
    },
    /// Job arrays on a Slurm cluster.
    Slurm(SlurmOptions),
}

impl Executor {
    /// How many workers run at once: the default batch size.
    pub fn parallelism(&self) -> usize {
        match self {
            Executor::Local { jobs } => (*jobs).max(1),
            Executor::Slurm(o) => o.max_parallel.max(1),
        }
    }

    /// Runs the batch's unfinished tasks until each has a result or has used its
    /// retries. Returns early with [`Interrupted`] on SIGINT (local workers are
    /// interrupted too; Slurm jobs keep running, and a re-run re-attaches to them).
    pub fn run(&self, batch: &Batch, retries: usize) -> Result<()> {
        match self {
            Executor::Local { jobs } => run_local(batch, (*jobs).max(1), retries),
            Executor::Slurm(options) => crate::slurm::run_batch(options, batch, retries),
        }
    }
}

/// The command line of one worker.
pub fn worker_command(exe: &Path, batch: &Batch, task: &str) -> Command {
    let mut cmd = Command::new(exe);
    cmd.arg("worker")
        .arg("--study")
        .arg(&batch.study)
        .arg("--cache")
        .arg(&batch.cache)
        .arg("--task")
        .arg(task);
    cmd
}

fn run_local(batch: &Batch, jobs: usize, retries: usize) -> Result<()> {
    let exe = std::env::current_exe().context("locating the pipeline binary for the workers")?;
    // (task, attempt, not before): a retry waits out its backoff.
    let mut queue: VecDeque<(usize, usize, Instant)> = batch
        .unfinished()
        .into_iter()
        .map(|i| (i, 0, Instant::now()))
        .collect();
    let mut running: Vec<(Child, usize, usize)> = Vec::new();
    loop {
        if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
            for (child, ..) in &mut running {
                interrupt(child);
            }
            for (child, ..) in &mut running {
                let _ = child.wait();
            }
            return Err(Interrupted.into());
        }
        while running.len() < jobs {
            let now = Instant::now();
            let Some(ready) = queue.iter().position(|q| q.2 <= now) else {
                break;
            };
            let (i, attempt, _) = queue.remove(ready).expect("a queued task");
            let mut cmd = worker_command(&exe, batch, &batch.tasks[i]);
            cmd.stdout(Stdio::null());
            // Its own process group: a Ctrl-C at the terminal reaches the coordinator
            // only, which passes exactly one SIGINT on (a second one stops at once).
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            stop_with_parent(&mut cmd);
            if std::env::var_os("RAYON_NUM_THREADS").is_none() {
                // Share the cores between the workers instead of oversubscribing them.
                cmd.env("RAYON_NUM_THREADS", threads_per_worker(jobs).to_string());
            }
            if jobs > 1 {
                // Parallel workers log to their own files instead of sharing a terminal.
                let log = worker::tasks_dir(&batch.study).join(format!("{}.log", batch.tasks[i]));
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)?;
                cmd.stderr(log);
            }
            let child = cmd
                .spawn()
                .with_context(|| format!("starting a worker ({})", exe.display()))?;
            running.push((child, i, attempt));
        }
        if running.is_empty() && queue.is_empty() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
        let mut k = 0;
        while k < running.len() {
            if let Some(status) = running[k].0.try_wait()? {
                let (_, i, attempt) = running.swap_remove(k);
                let done = worker::read_result(&batch.study, &batch.tasks[i]).is_some();
                if !done && !INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                    tracing::warn!(
                        "worker of task {} ended without a result ({status}), attempt {}",
                        batch.tasks[i],
                        attempt + 1
                    );
                    if attempt < retries {
                        let wait = crate::batch::retry_backoff(attempt + 1);
                        queue.push_back((i, attempt + 1, Instant::now() + wait));
                    }
                }
            } else {
                k += 1;
            }
        }
    }
}

/// Makes the worker stop (SIGTERM, which it handles like SIGINT) when the coordinator
/// dies, even by SIGKILL, so that no worker outlives its study's run. Linux only; on
/// other systems a worker of a killed coordinator runs to its end.
fn stop_with_parent(cmd: &mut std::process::Command) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid(2) is async-signal-safe.
        let coordinator = unsafe { libc::getpid() };
        let arm = move || {
            // SAFETY: prctl(2) and getppid(2) are async-signal-safe and touch no memory
            // of the parent; this runs in the forked child before exec.
            unsafe {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The coordinator died before the signal was armed.
                if libc::getppid() != coordinator {
                    libc::_exit(1);
                }
            }
            Ok(())
        };
        // SAFETY: the closure only makes async-signal-safe calls.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(cmd, arm);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// This machine's cores divided between `jobs` workers (at least one each).
fn threads_per_worker(jobs: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / jobs.max(1)).max(1)
}

/// Passes SIGINT on to a worker, which finishes its current write and stops.
fn interrupt(child: &mut Child) {
    // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
}
