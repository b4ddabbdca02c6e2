//! The global allocator the SDK installs in every plugin: the system allocator, counting
//! this plugin copy's live heap bytes so the host can meter memory per version.
//!
//! Each plugin copy links its own copy of this code and its own statics, and abi_stable
//! types free memory through their creator's vtable, so a buffer a plugin hands the host is
//! still freed (and uncounted) by the plugin's allocator: the count is exact per copy.
//!
//! "The system allocator" is whatever `malloc` the process binds: inside the Frontdoor host
//! that is the host's mimalloc, which its executable exports for exactly this (one
//! allocator per process); in a plugin's own tests it is glibc's.
//!
//! Cost: counters are sharded by stack address, so two threads almost never touch the same
//! cache line and each allocation pays two uncontended relaxed atomic adds. Limits are soft
//! (the host quarantines a version that keeps growing past its limit): this allocator never
//! fails an allocation that the system allocator would serve.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicI64, AtomicU64, Ordering},
};

/// Shards of the counters; a power of two.
const SHARDS: usize = 32;

/// One thread's (usually) counters, alone on a cache line.
#[repr(align(64))]
struct Shard {
    /// Allocated minus freed bytes on this shard; negative when memory allocated on one
    /// thread is freed on another, so only the sum over shards means anything.
    live: AtomicI64,
    allocations: AtomicU64,
    allocated: AtomicU64,
}

#[allow(
    clippy::declare_interior_mutable_const,
    reason = "the constant only initialises the array of shards; each copy is a distinct static element"
)]
const EMPTY: Shard = Shard {
    live: AtomicI64::new(0),
    allocations: AtomicU64::new(0),
    allocated: AtomicU64::new(0),
};

static COUNTERS: [Shard; SHARDS] = [EMPTY; SHARDS];

/// The counting allocator; the export macros install it as the plugin's
/// `#[global_allocator]`.
pub struct CountingAllocator;

/// Heap totals summed over the shards.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HeapTotals {
    pub live_bytes: u64,
    pub allocations: u64,
    pub allocated_bytes: u64,
}

/// Sums the shards. Concurrent allocations make it a moment's approximation, never a
/// negative number.
pub(crate) fn totals() -> HeapTotals {
    let mut live: i64 = 0;
    let mut totals = HeapTotals::default();
    for shard in &COUNTERS {
        live = live.saturating_add(shard.live.load(Ordering::Relaxed));
        totals.allocations = totals
            .allocations
            .saturating_add(shard.allocations.load(Ordering::Relaxed));
        totals.allocated_bytes = totals
            .allocated_bytes
            .saturating_add(shard.allocated.load(Ordering::Relaxed));
    }
    totals.live_bytes = u64::try_from(live).unwrap_or(0);
    totals
}

/// The calling thread's shard, chosen by its stack address: threads' stacks are megabytes
/// apart, so bits above 2 MiB tell them apart without a thread-local lookup (which, in a
/// cdylib, is a call into the dynamic loader).
#[inline]
fn shard() -> &'static Shard {
    let marker = 0u8;
    let address = std::ptr::addr_of!(marker) as usize;
    &COUNTERS[(address >> 21) & (SHARDS - 1)]
}

#[inline]
fn grew(bytes: usize) {
    let shard = shard();
    shard.live.fetch_add(bytes as i64, Ordering::Relaxed);
    shard.allocations.fetch_add(1, Ordering::Relaxed);
    shard.allocated.fetch_add(bytes as u64, Ordering::Relaxed);
}

#[inline]
fn shrank(bytes: usize) {
    shard().live.fetch_sub(bytes as i64, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and
// returns its result unchanged; the counting on the side touches only atomics and never
// allocates, so `System`'s guarantees are this allocator's.
unsafe impl GlobalAlloc for CountingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    #[inline]
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(pointer, layout) };
        shrank(layout.size());
    }

    #[inline]
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::realloc`'s contract.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        moved
    }
}
