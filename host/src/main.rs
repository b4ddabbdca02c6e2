//! The `frontdoor` binary; all of it lives in [`frontdoor::cli`].

fn main() -> std::process::ExitCode {
    frontdoor::cli::main()
}
