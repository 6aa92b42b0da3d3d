//! The `retort` binary: everything lives in the library; this only maps the exit status.
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(retort::cli::main(std::env::args_os()))
}
