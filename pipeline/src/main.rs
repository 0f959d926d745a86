//! `pipeline`: the xbar-opt command line. See `pipeline --help`.

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    pipeline::cli::main()
}

/// A training step allocates and frees activations and gradients of up to a few tens of
/// MB. glibc serves blocks that large with `mmap` and returns them (and the top of the
/// heap beyond 128 KB) to the kernel when freed, so every step faulted its pages back
/// in and the kernel zeroed them again (`clear_page_erms`, 6-8 % of a ResNet20 step in
/// `perf`). Serving blocks up to 32 MB (glibc's ceiling) from the heap and keeping
/// freed memory lets the next step reuse it. Ours, not glibc's default: it changes
/// speed and memory, never a result; `XBAR_KEEP_FREED_MEMORY=0` turns it off.
fn keep_freed_memory() {
    if std::env::var_os("XBAR_KEEP_FREED_MEMORY").is_some_and(|v| v == "0") {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes the allocator's tunables; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
