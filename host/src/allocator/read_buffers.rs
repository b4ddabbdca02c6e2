//! A per-thread cache of 8 KiB blocks, the size of hyper's HTTP/1 read buffers.
//!
//! hyper asks for a fresh 8 KiB read buffer on most requests of a keep-alive HTTP/1
//! connection: it reserves room for the next read while the request it just parsed still
//! holds the old buffer, so `BytesMut` cannot reclaim it and allocates anew (measured under
//! callgrind: 1,620 of 2,000 W1 requests). The old one is freed a moment later. mimalloc frees a page of blocks as soon as it empties unless it is the only page
//! of its size class, so with a few connections' buffers alive that alternation set up and
//! tore down a page every few requests: under callgrind an 8 KiB allocation cost about 470
//! instructions against about 25 for a small one, and the frees as much again. A block
//! freed here is kept for the thread's next 8 KiB allocation instead, a few at most, and
//! any beyond that go back to mimalloc.

use std::{cell::Cell, ffi::c_void, ptr};

use libmimalloc_sys as mi;

/// The size served from the cache: hyper's `INIT_BUFFER_SIZE`, what `BytesMut` allocates
/// when its buffer is shared.
pub(super) const BLOCK_SIZE: usize = 8192;

/// Blocks kept per thread. One suffices for the alternation above; a few absorb the
/// buffers of several connections served by one worker in turn.
pub(super) const CAPACITY: usize = 4;

/// One thread's free blocks: `blocks[..len]` are free 8 KiB mimalloc blocks.
struct Cache {
    blocks: [Cell<*mut u8>; CAPACITY],
    len: Cell<usize>,
}

impl Drop for Cache {
    fn drop(&mut self) {
        for block in &self.blocks[..self.len.get()] {
            // SAFETY: every block below `len` is a live mimalloc block that `give` took
            // over and nothing else refers to; it is freed once, as the thread ends.
            unsafe { mi::mi_free(block.get().cast::<c_void>()) };
        }
    }
}

thread_local! {
    // A `const` initialiser: first use does not allocate through the global allocator (its
    // destructor is registered with the C library, whose `calloc` is mimalloc's own), so
    // the allocator may use it.
    static CACHE: Cache = const {
        Cache {
            blocks: [const { Cell::new(ptr::null_mut()) }; CAPACITY],
            len: Cell::new(0),
        }
    };
}

/// A free 8 KiB block of this thread's, if it has one. `None` too while the thread is
/// ending (its cache is gone).
#[inline]
pub(super) fn take() -> Option<*mut u8> {
    CACHE
        .try_with(|cache| {
            let len = cache.len.get();
            let last = len.checked_sub(1)?;
            cache.len.set(last);
            Some(cache.blocks[last].get())
        })
        .ok()
        .flatten()
}

/// Keeps `block` (a free 8 KiB mimalloc block, at least 16-byte aligned) for this thread's
/// next 8 KiB allocation; false when the cache is full or gone, and the caller frees it.
#[inline]
pub(super) fn give(block: *mut u8) -> bool {
    CACHE
        .try_with(|cache| {
            let len = cache.len.get();
            if len == CAPACITY {
                return false;
            }
            cache.blocks[len].set(block);
            cache.len.set(len + 1);
            true
        })
        .unwrap_or(false)
}

/// Blocks this thread holds now (for tests).
#[cfg(test)]
pub(super) fn cached() -> usize {
    CACHE.with(|cache| cache.len.get())
}
