//! The study's stop flag: SIGINT, SIGTERM or SIGHUP sets it (Ctrl-C, `kill`, `timeout`,
//! a Slurm cancel, a closed terminal), long-running steps poll it and stop with
//! [`Interrupted`] after their current write.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;

/// Set by SIGINT, SIGTERM or SIGHUP: finish the current write and stop.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The error a study stops with when interrupted.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Fails with [`Interrupted`] once a stop signal has arrived.
pub fn check_interrupt() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(Interrupted.into());
    }
    Ok(())
}

/// SIGINT, SIGTERM and SIGHUP set the study's stop flag (the current write finishes,
/// then the run stops); a second one exits at once, which is safe too: every write is
/// atomic.
pub fn install_interrupt_handler() {
    let result = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after the current step (Ctrl-C again to stop at once)");
    });
    if let Err(e) = result {
        tracing::warn!("no stop-signal handler: {e}");
    }
}
