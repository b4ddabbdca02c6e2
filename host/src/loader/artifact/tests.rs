//! The ELF checks refuse what would crash or confuse dlopen.

use super::check_elf;
use crate::loader::LoadError;

fn own_executable() -> Vec<u8> {
    std::fs::read(std::env::current_exe().expect("current exe")).expect("read exe")
}

#[test]
fn empty_is_refused() {
    assert!(matches!(check_elf(&[], 0), Err(LoadError::Empty)));
}

#[test]
fn random_bytes_are_not_elf() {
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(matches!(
        check_elf(&noise, noise.len() as u64),
        Err(LoadError::NotElf(_))
    ));
}

#[test]
fn a_truncated_object_is_refused() {
    let exe = own_executable();
    let half = &exe[..exe.len() / 2];
    let error = check_elf(half, half.len() as u64).expect_err("half a file");
    // The test binary is a PIE (ET_DYN) on this toolchain, so the check reaches the segments.
    assert!(matches!(error, LoadError::Truncated(_)), "{error}");
}

#[test]
fn a_whole_object_passes_from_its_head_alone() {
    let exe = own_executable();
    check_elf(&exe[..64 * 1024], exe.len() as u64).expect("complete object");
}
