//! The `frontdoor` binary; all of it lives in [`frontdoor::cli`].

/// The host's own allocations (requests, backend calls, tables) go through mimalloc. Plugins
/// keep theirs: only abi_stable types cross the boundary, and those free through the
/// vtable of the side that allocated them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    frontdoor::cli::main()
}
