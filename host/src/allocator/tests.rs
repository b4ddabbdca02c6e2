//! Every allocation through the host's allocator meets its layout's alignment, whichever of
//! mimalloc's functions served it.

use super::*;

#[test]
fn blocks_are_aligned_for_every_size_and_alignment() {
    let mut kept = Vec::new();
    for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
        for size in [1, 3, 8, 15, 16, 24, 40, 100, 1000, 1025, 3040, 70_000] {
            let layout = Layout::from_size_align(size, align).expect("layout");
            for _ in 0..4 {
                // SAFETY: a non-zero size; the block is freed below with the same layout.
                let block = unsafe { ALLOCATOR.alloc(layout) };
                assert!(!block.is_null());
                assert_eq!(block as usize % align, 0, "size {size}, align {align}");
                kept.push((block, layout));
            }
            // SAFETY: as above.
            let zeroed = unsafe { ALLOCATOR.alloc_zeroed(layout) };
            assert_eq!(
                zeroed as usize % align,
                0,
                "zeroed: size {size}, align {align}"
            );
            // SAFETY: `zeroed` is a live block of `size` bytes, written by mimalloc (zeroed).
            let bytes = unsafe { std::slice::from_raw_parts(zeroed, size) };
            assert!(bytes.iter().all(|b| *b == 0));
            // SAFETY: the block was allocated just above with `layout`.
            let grown = unsafe { ALLOCATOR.realloc(zeroed, layout, size * 3) };
            assert_eq!(
                grown as usize % align,
                0,
                "grown: size {size}, align {align}"
            );
            let grown_layout = Layout::from_size_align(size * 3, align).expect("layout");
            kept.push((grown, grown_layout));
        }
    }
    for (block, layout) in kept {
        // SAFETY: each block was allocated above with this layout and is freed once.
        unsafe { ALLOCATOR.dealloc(block, layout) };
    }
}

fn read_buffer() -> Layout {
    Layout::from_size_align(read_buffers::BLOCK_SIZE, 1).expect("layout")
}

#[test]
fn a_freed_read_buffer_serves_the_threads_next_one() {
    let before = read_buffers::cached();
    // SAFETY: a non-zero size; freed below with the same layout.
    let first = unsafe { ALLOCATOR.alloc(read_buffer()) };
    assert!(!first.is_null());
    // SAFETY: `first` is a live block of 8 KiB.
    unsafe { first.write_bytes(0xA5, read_buffers::BLOCK_SIZE) };
    // SAFETY: allocated above with this layout, freed once.
    unsafe { ALLOCATOR.dealloc(first, read_buffer()) };
    assert_eq!(read_buffers::cached(), before + 1, "kept, not freed");
    // SAFETY: as above.
    let second = unsafe { ALLOCATOR.alloc(read_buffer()) };
    assert_eq!(second, first, "the kept block comes back");
    assert_eq!(read_buffers::cached(), before);
    // SAFETY: `second` is a live block of 8 KiB, all of it writable.
    unsafe { second.write_bytes(0x5A, read_buffers::BLOCK_SIZE) };
    // SAFETY: as above.
    unsafe { ALLOCATOR.dealloc(second, read_buffer()) };
}

#[test]
fn the_cache_keeps_a_few_blocks_and_mimalloc_gets_the_rest() {
    let count = read_buffers::CAPACITY + 3;
    let allocate = || -> Vec<*mut u8> {
        (0..count)
            // SAFETY: a non-zero size; each block is freed below with the same layout.
            .map(|_| unsafe { ALLOCATOR.alloc(read_buffer()) })
            .collect()
    };
    let blocks = allocate();
    for block in &blocks {
        assert!(!block.is_null());
        assert_eq!(*block as usize % MALLOC_ALIGN, 0);
    }
    for block in blocks {
        // SAFETY: allocated above with this layout, freed once.
        unsafe { ALLOCATOR.dealloc(block, read_buffer()) };
    }
    assert_eq!(read_buffers::cached(), read_buffers::CAPACITY);
    // The kept ones and fresh ones alike are distinct, aligned, live blocks.
    let mut again = allocate();
    again.sort_unstable();
    again.dedup();
    assert_eq!(again.len(), count);
    assert_eq!(read_buffers::cached(), 0);
    for block in again {
        assert_eq!(block as usize % MALLOC_ALIGN, 0);
        // SAFETY: allocated just above with this layout, freed once.
        unsafe { ALLOCATOR.dealloc(block, read_buffer()) };
    }
}

#[test]
fn other_8_kib_layouts_and_other_sizes_bypass_the_cache() {
    let before = read_buffers::cached();
    for layout in [
        Layout::from_size_align(read_buffers::BLOCK_SIZE, 64).expect("layout"),
        Layout::from_size_align(read_buffers::BLOCK_SIZE - 1, 1).expect("layout"),
        Layout::from_size_align(read_buffers::BLOCK_SIZE + 1, 1).expect("layout"),
    ] {
        // SAFETY: a non-zero size; freed below with the same layout.
        let block = unsafe { ALLOCATOR.alloc(layout) };
        assert_eq!(block as usize % layout.align(), 0);
        // SAFETY: allocated above with this layout, freed once.
        unsafe { ALLOCATOR.dealloc(block, layout) };
        assert_eq!(read_buffers::cached(), before, "{layout:?}");
    }
}

#[test]
fn a_block_freed_on_another_thread_stays_with_that_thread() {
    // SAFETY: a non-zero size; freed on the other thread with the same layout.
    let block = unsafe { ALLOCATOR.alloc(read_buffer()) } as usize;
    let before = read_buffers::cached();
    let kept_there = std::thread::spawn(move || {
        // SAFETY: allocated above with this layout, freed once; mimalloc frees across
        // threads, and this thread's cache frees what it kept when the thread ends.
        unsafe { ALLOCATOR.dealloc(block as *mut u8, read_buffer()) };
        read_buffers::cached()
    })
    .join()
    .expect("the freeing thread");
    assert_eq!(kept_there, 1);
    assert_eq!(read_buffers::cached(), before);
}
