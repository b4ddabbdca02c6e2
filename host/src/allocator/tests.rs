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
