//! The `frontdoor` binary, built inside the test package so tests can run it as a process
//! (`CARGO_BIN_EXE_*` is only set for binaries of the package under test).

fn main() -> std::process::ExitCode {
    frontdoor::cli::main()
}
