//! The Slurm executor: each batch is one job array running `pipeline worker`.
//!
//! For a batch `b<i>` the coordinator writes `<study>/slurm/b<i>.sh` (the sbatch script:
//! the array index picks the task id), submits it with
//! `sbatch --parsable --array=<indices>%<max_parallel>`, records every submission (job
//! id, indices, time) in `<study>/slurm/b<i>.json`, and polls `squeue -j <job>` until
//! the array has left the queue. Tasks without a result file then are resubmitted as a
//! smaller array, up to `retries` times.
//!
//! **Re-attach.** A coordinator killed while an array runs leaves the record behind; a
//! re-run of the study finds the batch's last job still in `squeue` and waits for it
//! instead of submitting again. A job submitted but not yet recorded (a kill between
//! `sbatch` and the record's write) is found by its job name, which is unique to the
//! study directory and batch.
//!
//! **Shared file system.** The study directory and the store must be on a file system
//! every node mounts at the same path (NFS, Lustre, GPFS, BeeGFS). Every file is written
//! to a temporary name and renamed, which is atomic on these within one directory. On a
//! file system whose rename is not atomic a reader could see a partial ledger part or
//! store object: the store re-hashes every object it reads and recomputes a corrupt
//! one, and a ledger part that does not parse is skipped with a warning, so the worst
//! case is a repeated evaluation, not a wrong result.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::batch::Batch;
use crate::interrupt::{Interrupted, INTERRUPTED};

/// Settings of the Slurm executor.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// `--partition`, if any.
    pub partition: Option<String>,
    /// Array tasks running at once (`%K`).
    pub max_parallel: usize,
    /// Extra sbatch arguments, passed as they are (e.g. `--time=02:00:00`).
    pub sbatch_args: Vec<String>,
    /// Seconds between two `squeue` polls.
    pub poll_s: f64,
}

/// One `sbatch` of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Slurm's job id of the array.
    pub job_id: String,
    /// The array indices submitted (task positions in the batch).
    pub indices: Vec<usize>,
    /// When, ms since the Unix epoch.
    pub submitted_at_ms: i64,
}

/// `<study>/slurm/<batch>.json`: a batch's tasks and every submission of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    /// The batch's name.
    pub batch: String,
    /// The job name its arrays carry.
    pub job_name: String,
    /// The task ids, by array index.
    pub tasks: Vec<String>,
    /// Submissions, oldest first.
    pub submissions: Vec<Submission>,
}

fn slurm_dir(study: &Path) -> PathBuf {
    study.join("slurm")
}

/// The path of a batch's record.
pub fn record_path(study: &Path, batch: &str) -> PathBuf {
    slurm_dir(study).join(format!("{batch}.json"))
}

/// A job name unique to the study directory and the batch.
fn job_name(batch: &Batch) -> String {
    let dir = std::fs::canonicalize(&batch.study).unwrap_or_else(|_| batch.study.clone());
    let hash = blake3::hash(dir.to_string_lossy().as_bytes()).to_hex();
    format!("xbar-{}-{}", &hash[..8], batch.name)
}

/// Refuses a value for an `#SBATCH` line that could break out of it (a newline would
/// start a line of its own) or that sbatch would split: only letters, digits and
/// `/._-+,:=@%` pass.
fn check_directive(what: &str, value: &str) -> Result<()> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+,:=@%".contains(c);
    if let Some(c) = value.chars().find(|&c| !safe(c)) {
        bail!(
            "{what} {value:?} holds {c:?}, which an sbatch script line cannot carry; use only \
             letters, digits and /._-+,:=@%"
        );
    }
    Ok(())
}

/// The sbatch script of a batch: the array index selects the task. Fails on a
/// partition or study path that an `#SBATCH` line cannot carry safely.
pub fn script(options: &SlurmOptions, batch: &Batch, exe: &Path) -> Result<String> {
    let logs = slurm_dir(&batch.study).join("logs");
    check_directive("the study directory", &logs.display().to_string())?;
    if let Some(p) = &options.partition {
        check_directive("--partition", p)?;
    }
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("#SBATCH --job-name={}\n", job_name(batch));
    s += &format!(
        "#SBATCH --output={}/{}_%a.out\n",
        logs.display(),
        batch.name
    );
    s += "#SBATCH --open-mode=append\n#SBATCH --ntasks=1\n";
    if let Some(p) = &options.partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    s += &format!(
        "# Submitted as: sbatch --parsable --array=<indices>%{} [--sbatch-arg ...] <this file>\n",
        options.max_parallel.max(1)
    );
    s += "# The study dir and the store must be on a file system every node shares.\n";
    s += "set -euo pipefail\nTASKS=(";
    s += &batch.tasks.join(" ");
    s += ")\n";
    s += &format!(
        "exec {} worker --study {} --cache {} --task \"${{TASKS[$SLURM_ARRAY_TASK_ID]}}\"\n",
        shell_quote(&exe.display().to_string()),
        shell_quote(&batch.study.display().to_string()),
        shell_quote(&batch.cache.display().to_string()),
    );
    Ok(s)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs the batch's unfinished tasks as job arrays (see the module docs).
pub fn run_batch(options: &SlurmOptions, batch: &Batch, retries: usize) -> Result<()> {
    let exe = std::env::current_exe().context("locating the pipeline binary for the workers")?;
    std::fs::create_dir_all(slurm_dir(&batch.study).join("logs"))?;
    let path = record_path(&batch.study, &batch.name);
    let mut record = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is corrupted", path.display()))?,
        Err(_) => BatchRecord {
            batch: batch.name.clone(),
            job_name: job_name(batch),
            tasks: batch.tasks.clone(),
            submissions: Vec::new(),
        },
    };
    if !batch.tasks.iter().all(|t| record.tasks.contains(t)) {
        bail!(
            "{} lists other tasks than this run's batch {}: the study's decisions changed; \
             move the slurm/ and tasks/ directories away",
            path.display(),
            batch.name
        );
    }
    // A re-run leaves out the tasks whose rows reached the ledger meanwhile; the array
    // indices stay those of the record.
    let batch = &Batch {
        tasks: record.tasks.clone(),
        ..batch.clone()
    };
    // A job submitted by a coordinator killed before it recorded it.
    for job_id in queued_jobs_named(&record.job_name)? {
        if !record.submissions.iter().any(|s| s.job_id == job_id) {
            tracing::warn!(
                "re-attaching to unrecorded job {job_id} of batch {}",
                batch.name
            );
            record.submissions.push(Submission {
                job_id,
                indices: batch.unfinished(),
                submitted_at_ms: now_ms(),
            });
            write_record(&path, &record)?;
        }
    }
    loop {
        for submission in &record.submissions {
            if is_queued(&submission.job_id)? {
                eprintln!(
                    "batch {}: waiting for Slurm job {}",
                    batch.name, submission.job_id
                );
                wait(options, &submission.job_id)?;
            }
        }
        let missing = batch.unfinished();
        let retry: Vec<usize> = missing
            .iter()
            .copied()
            .filter(|&i| {
                record
                    .submissions
                    .iter()
                    .filter(|s| s.indices.contains(&i))
                    .count()
                    <= retries
            })
            .collect();
        if retry.is_empty() {
            for i in missing {
                tracing::warn!(
                    "task {} of batch {} has no result after {} submissions",
                    batch.tasks[i],
                    batch.name,
                    retries + 1
                );
            }
            return Ok(());
        }
        if !record.submissions.is_empty() {
            let wait = crate::batch::retry_backoff(record.submissions.len());
            eprintln!(
                "batch {}: resubmitting tasks {:?} in {} s (no result: failed, cancelled or \
                 timed out)",
                batch.name,
                retry,
                wait.as_secs()
            );
            std::thread::sleep(wait);
            crate::interrupt::check_interrupt()?;
        }
        let script_path = slurm_dir(&batch.study).join(format!("{}.sh", batch.name));
        cache::atomic::write_atomic(&script_path, script(options, batch, &exe)?.as_bytes())?;
        let job_id = submit(options, &script_path, &retry)?;
        record.submissions.push(Submission {
            job_id,
            indices: retry,
            submitted_at_ms: now_ms(),
        });
        write_record(&path, &record)?;
    }
}

fn write_record(path: &Path, record: &BatchRecord) -> Result<()> {
    cache::atomic::write_atomic(path, &serde_json::to_vec_pretty(record)?)
}

/// `sbatch --parsable --array=...`; returns the job id.
fn submit(options: &SlurmOptions, script: &Path, indices: &[usize]) -> Result<String> {
    let array = format!(
        "{}%{}",
        indices
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(","),
        options.max_parallel.max(1)
    );
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable").arg(format!("--array={array}"));
    if let Some(p) = &options.partition {
        cmd.arg(format!("--partition={p}"));
    }
    cmd.args(&options.sbatch_args).arg(script);
    let out = slurm_output(cmd, "sbatch")?;
    let job_id = out.trim().split(';').next().unwrap_or("").to_string();
    if job_id.is_empty() || !job_id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch printed {out:?}, not a job id");
    }
    eprintln!("submitted job array {job_id} ({array})");
    Ok(job_id)
}

/// Whether any task of the job is still pending or running. A failing `squeue` (the
/// controller busy or restarting) is retried for about a minute before giving up.
fn is_queued(job_id: &str) -> Result<bool> {
    let mut delay = Duration::from_secs(1);
    loop {
        let mut cmd = Command::new("squeue");
        cmd.args(["-h", "-j", job_id, "-o", "%T"]);
        let out = cmd
            .output()
            .map_err(|e| anyhow::anyhow!("cannot run squeue: {e} (is Slurm installed here?)"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            return Ok(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
        }
        // squeue fails with "Invalid job id" once the job has left the controller.
        if stderr.contains("Invalid job id") {
            return Ok(false);
        }
        if delay > Duration::from_secs(32) {
            bail!("squeue -j {job_id} failed: {}", stderr.trim());
        }
        tracing::warn!("squeue -j {job_id} failed ({}), retrying", stderr.trim());
        std::thread::sleep(delay);
        delay *= 2;
    }
}

/// Array job ids in the queue under `name`.
fn queued_jobs_named(name: &str) -> Result<Vec<String>> {
    let mut cmd = Command::new("squeue");
    cmd.args(["-h", "--name", name, "-o", "%F"]);
    let out = slurm_output(cmd, "squeue")?;
    let mut ids: Vec<String> = out.lines().map(|l| l.trim().to_string()).collect();
    ids.retain(|l| !l.is_empty());
    ids.sort();
    ids.dedup();
    Ok(ids)
}

fn wait(options: &SlurmOptions, job_id: &str) -> Result<()> {
    while is_queued(job_id)? {
        if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
            eprintln!(
                "Slurm job {job_id} keeps running; run the same command again to re-attach to it"
            );
            return Err(Interrupted.into());
        }
        std::thread::sleep(Duration::from_secs_f64(options.poll_s.max(0.05)));
    }
    Ok(())
}

fn slurm_output(mut cmd: Command, what: &str) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {what} (is Slurm installed on this node?)"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
