//! The `ferry` binary: everything lives in the library's `run`.

fn main() -> std::process::ExitCode {
    ferry::run(std::env::args_os())
}
