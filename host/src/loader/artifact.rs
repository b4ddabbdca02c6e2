//! Reads an artifact and checks it is a complete ELF shared object before anything maps it.
//!
//! `dlopen` of a truncated file can succeed and then fault (SIGBUS) when the loader touches a
//! segment past the end of the file, killing the host. So the structure is checked here, on
//! bytes read into memory, and the exact bytes checked are the ones later copied and opened.

use std::path::Path;

use object::{
    Endianness,
    elf::{ET_DYN, PT_LOAD},
    read::elf::{ElfFile64, FileHeader, ProgramHeader},
};

use super::LoadError;

/// Reads `path` and verifies every loadable segment and the section table lie inside it.
pub(super) fn read_checked(path: &Path) -> Result<Vec<u8>, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    check_elf(&bytes)?;
    Ok(bytes)
}

fn check_elf(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::Empty);
    }
    if !bytes.starts_with(b"\x7fELF") {
        return Err(LoadError::NotElf("no ELF magic number".into()));
    }
    let file = ElfFile64::<Endianness>::parse(bytes)
        .map_err(|error| LoadError::Truncated(format!("ELF header: {error}")))?;
    let endian = file.endian();
    let header = file.elf_header();
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
    let file_len = bytes.len() as u64;
    for segment in file.elf_program_headers() {
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
