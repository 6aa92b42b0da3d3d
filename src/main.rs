//! The `retort` binary: everything lives in the library; this only maps the exit status.

// A large history is tens of thousands of small allocations (parsed files, graph nodes);
// mimalloc serves them in about half the time of the system allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(retort::cli_main(std::env::args_os()))
}
