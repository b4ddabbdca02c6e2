//! Reads an artifact and checks it is a complete ELF shared object before anything maps it.
//!
//! `dlopen` of a truncated file can succeed and then fault (SIGBUS) when the loader touches a
//! segment past the end of the file, killing the host. So the structure is checked here,
//! on the host's private copy, which is the file later opened.

use std::{io::Read as _, path::Path};

use object::{
    Endianness,
    elf::{ET_DYN, FileHeader64, PT_LOAD},
    read::elf::{FileHeader, ProgramHeader},
};

use super::LoadError;

/// How much of the file is read to find the ELF header and program headers, which linkers
/// put at the start; the rest of the check needs only the file's length.
const HEAD_BYTES: u64 = 64 * 1024;

/// Verifies that every loadable segment and the section table of the ELF file at `path` lie
/// inside it; returns the file's size.
pub(super) fn check_file(path: &Path) -> Result<u64, LoadError> {
    let io_error = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let file_len = file.metadata().map_err(io_error)?.len();
    let mut head = Vec::new();
    file.take(HEAD_BYTES)
        .read_to_end(&mut head)
        .map_err(io_error)?;
    match check_elf(&head, file_len) {
        // Program headers past the head: unusual, but valid; check with the whole file.
        Err(LoadError::Truncated(_)) if file_len > head.len() as u64 => {
            let whole = std::fs::read(path).map_err(io_error)?;
            check_elf(&whole, whole.len() as u64)?;
        }
        outcome => outcome?,
    }
    Ok(file_len)
}

/// Checks an ELF file of `file_len` bytes from its first bytes, `head`.
fn check_elf(head: &[u8], file_len: u64) -> Result<(), LoadError> {
    if file_len == 0 {
        return Err(LoadError::Empty);
    }
    if !head.starts_with(b"\x7fELF") {
        return Err(LoadError::NotElf("no ELF magic number".into()));
    }
    let header = FileHeader64::<Endianness>::parse(head)
        .map_err(|error| LoadError::Truncated(format!("ELF header: {error}")))?;
    let endian = header
        .endian()
        .map_err(|error| LoadError::NotElf(format!("ELF header: {error}")))?;
    if header.e_type(endian) != ET_DYN {
        return Err(LoadError::NotElf(
            "not a shared object (ELF type is not ET_DYN)".into(),
        ));
    }
    if header.e_machine(endian) != native_machine() {
        return Err(LoadError::NotElf(format!(
            "built for another architecture (ELF machine {})",
            header.e_machine(endian)
        )));
    }
    let segments = header
        .program_headers(endian, head)
        .map_err(|error| LoadError::Truncated(format!("program headers: {error}")))?;
    for segment in segments {
        if segment.p_type(endian) != PT_LOAD {
            continue;
        }
        let end = segment
            .p_offset(endian)
            .saturating_add(segment.p_filesz(endian));
        if end > file_len {
            return Err(LoadError::Truncated(format!(
                "a loadable segment ends at byte {end} but the file has {file_len} bytes"
            )));
        }
    }
    let sections_end = header
        .e_shoff(endian)
        .saturating_add(u64::from(header.e_shnum(endian)) * u64::from(header.e_shentsize(endian)));
    if sections_end > file_len {
        return Err(LoadError::Truncated(format!(
            "the section table ends at byte {sections_end} but the file has {file_len} bytes"
        )));
    }
    Ok(())
}

fn native_machine() -> u16 {
    if cfg!(target_arch = "x86_64") {
        object::elf::EM_X86_64
    } else if cfg!(target_arch = "aarch64") {
        object::elf::EM_AARCH64
    } else {
        object::elf::EM_NONE
    }
}

#[cfg(test)]
mod tests;
