//! The process's one allocator: mimalloc, for the host and every plugin it loads.
//!
//! Declared here, in the library, so every binary built on it (the shipped `frontdoor`, the
//! tests' `frontdoor-under-test`, the load probe, which is the same binary) allocates the
//! same way. mimalloc's `override` feature defines `malloc`, `free`, `realloc`, `calloc`,
//! `posix_memalign` and the rest in the executable, which exports them; glibc supports
//! replacing its allocator this way, and the dynamic linker binds each plugin's calls to
//! them (the executable comes first in the lookup), so a plugin's `Vec` and `String`, built
//! on Rust's `System` allocator, are mimalloc's too. One allocator also means memory may be
//! freed on either side of the boundary, though only abi_stable types cross it and they
//! free through their creator's vtable anyway.

/// Every Rust allocation of the host goes to mimalloc directly (the C symbols above are for
/// plugins and C code).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
