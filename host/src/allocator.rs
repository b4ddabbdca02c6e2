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
//!
//! The host's own allocations call mimalloc's functions here rather than through the
//! `mimalloc` crate, whose wrapper sends every allocation to `mi_malloc_aligned`: that path
//! takes mimalloc's fast path only for blocks up to 1 KiB whose next free block happens to
//! be aligned, and over-allocates otherwise (a request's 3 KiB future, hyper's buffers).
//! Under callgrind it cost about 125 instructions per allocation, against about 25 for
//! `mi_malloc`.

use std::{
    alloc::{GlobalAlloc, Layout},
    ffi::c_void,
};

use libmimalloc_sys as mi;

mod read_buffers;

/// The alignment `mi_malloc` gives every block of at least this many bytes: C's
/// `max_align_t` on x86-64 and aarch64 (mimalloc's `MI_MAX_ALIGN_SIZE`), which it must give
/// as the process's `malloc`.
const MALLOC_ALIGN: usize = 16;

/// Every Rust allocation of the host goes to mimalloc directly (the C symbols above are for
/// plugins and C code).
#[global_allocator]
static ALLOCATOR: Mimalloc = Mimalloc;

struct Mimalloc;

/// A layout served from the per-thread cache of 8 KiB blocks (`read_buffers.rs`).
#[inline]
fn is_read_buffer(layout: Layout) -> bool {
    layout.size() == read_buffers::BLOCK_SIZE && layout.align() <= MALLOC_ALIGN
}

/// Whether `mi_malloc` of `size` bytes is aligned enough for `align`: the rule Rust's own
/// `System` allocator applies to `malloc` (a block smaller than `MALLOC_ALIGN` may be less
/// aligned, but never less than its size's power of two that `align` can be).
fn malloc_suffices(align: usize, size: usize) -> bool {
    align <= MALLOC_ALIGN && align <= size
}

// SAFETY: every pointer returned comes from mimalloc, null on failure, with
// the layout's size; `malloc_suffices` picks the unaligned functions only where their
// blocks meet the alignment (above), else the aligned ones are given the alignment.
// `dealloc` and `realloc` receive only pointers this allocator returned, and `mi_free` and
// `mi_realloc(_aligned)` take any block from either family.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_read_buffer(layout)
            && let Some(block) = read_buffers::take()
        {
            return block;
        }
        // SAFETY: plain C calls with a size (and a power-of-two alignment, from `Layout`).
        let block = unsafe {
            if malloc_suffices(layout.align(), layout.size()) {
                mi::mi_malloc(layout.size())
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align())
            }
        };
        block.cast()
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let block = unsafe {
            if malloc_suffices(layout.align(), layout.size()) {
                mi::mi_zalloc(layout.size())
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align())
            }
        };
        block.cast()
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // An 8 KiB block of at most `MALLOC_ALIGN` came from `mi_malloc` or `mi_realloc`,
        // so it serves any later allocation of that layout.
        if is_read_buffer(layout) && read_buffers::give(ptr) {
            return;
        }
        // SAFETY: `ptr` was returned by this allocator (the caller's contract), so by mimalloc.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was returned by this allocator for `layout` (the caller's contract);
        // the new block keeps the alignment, as in `alloc` for `new_size`.
        let block = unsafe {
            if malloc_suffices(layout.align(), new_size) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size)
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align())
            }
        };
        block.cast()
    }
}

#[cfg(test)]
mod tests;
