//! `pipeline`: the xbar-opt command line. See `pipeline --help`.

fn main() -> std::process::ExitCode {
    pipeline::cli::main()
}
