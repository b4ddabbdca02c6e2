//! Checks that an artifact is a complete ELF shared object before anything maps it, reading
//! only its headers.
//!
//! `dlopen` of a truncated file can succeed and then fault (SIGBUS) when the loader touches a
//! segment past the end of the file, killing the host. So the structure is checked: the ELF
//! header is read at offset 0, then the program headers where the header says they are, and
//! every segment and the section table are checked against the file's length. Nothing else
//! of the file is read, however large it is or wherever its headers claim to be.

use std::{fs::File, io, os::unix::fs::FileExt};

use object::{
    Endianness,
    elf::{ET_DYN, FileHeader64, ProgramHeader64, SectionHeader64},
    pod,
    read::elf::{FileHeader, ProgramHeader},
};

use super::LoadError;

/// Size of an ELF64 file header.
pub const ELF_HEADER_BYTES: u64 = size_of::<FileHeader64<Endianness>>() as u64;
/// Size of one ELF64 program header.
const PROGRAM_HEADER_BYTES: u64 = size_of::<ProgramHeader64<Endianness>>() as u64;
/// Size of one ELF64 section header.
const SECTION_HEADER_BYTES: u64 = size_of::<SectionHeader64<Endianness>>() as u64;
/// More program headers than any shared object has (Rust cdylibs have about a dozen), few
/// enough that reading them all is cheap: 1024 × 56 bytes.
pub const MAX_PROGRAM_HEADERS: u64 = 1024;

/// Random access to the bytes of a file of known length.
pub trait ReadAt {
    /// Fills `buf` from `offset`, or fails.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }
}

/// Verifies that the ELF file of `file_len` bytes behind `file` is a shared object for this
/// machine whose segments and section table lie inside it. Reads at most the ELF header and
/// the program header table.
pub fn check_elf(file: &impl ReadAt, file_len: u64) -> Result<(), LoadError> {
    if file_len == 0 {
        return Err(LoadError::Empty);
    }
    let mut head = [0u8; ELF_HEADER_BYTES as usize];
    let head_len = file_len.min(ELF_HEADER_BYTES) as usize;
    file.read_exact_at(&mut head[..head_len], 0)
        .map_err(|error| read_error("ELF header", error))?;
    if !head[..head_len].starts_with(b"\x7fELF") {
        return Err(LoadError::NotElf("no ELF magic number".into()));
    }
    if file_len < ELF_HEADER_BYTES {
        return Err(LoadError::Truncated(format!(
            "the file has {file_len} bytes, less than an ELF header"
        )));
    }
    let header = FileHeader64::<Endianness>::parse(&head[..])
        .map_err(|error| LoadError::NotElf(format!("unsupported ELF header: {error}")))?;
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
    check_segments(file, file_len, header, endian)?;
    check_section_table(file_len, header, endian)
}

/// Reads the program header table and checks every segment's bytes are inside the file.
fn check_segments(
    file: &impl ReadAt,
    file_len: u64,
    header: &FileHeader64<Endianness>,
    endian: Endianness,
) -> Result<(), LoadError> {
    let count = u64::from(header.e_phnum(endian));
    if count == 0 {
        return Err(LoadError::NotElf("no program headers".into()));
    }
    // 0xffff (PN_XNUM) means "more than fit here, see section 0": far past any real library.
    if count > MAX_PROGRAM_HEADERS {
        return Err(LoadError::NotElf(format!(
            "{count} program headers, more than the {MAX_PROGRAM_HEADERS} this host reads"
        )));
    }
    if u64::from(header.e_phentsize(endian)) != PROGRAM_HEADER_BYTES {
        return Err(LoadError::NotElf(format!(
            "program header entries of {} bytes (ELF64 has {PROGRAM_HEADER_BYTES})",
            header.e_phentsize(endian)
        )));
    }
    let table_offset = header.e_phoff(endian);
    let table_bytes = count * PROGRAM_HEADER_BYTES;
    let table_end = table_offset.checked_add(table_bytes);
    if table_end.is_none_or(|end| end > file_len) {
        return Err(LoadError::Truncated(format!(
            "the program headers at byte {table_offset} end past the file's {file_len} bytes"
        )));
    }
    let mut table = vec![0u8; table_bytes as usize];
    file.read_exact_at(&mut table, table_offset)
        .map_err(|error| read_error("program headers", error))?;
    let (segments, _) =
        pod::slice_from_bytes::<ProgramHeader64<Endianness>>(&table, count as usize)
            .map_err(|()| LoadError::Truncated("program headers misaligned".into()))?;
    for segment in segments {
        let offset = segment.p_offset(endian);
        let end = offset.checked_add(segment.p_filesz(endian));
        if end.is_none_or(|end| end > file_len) {
            return Err(LoadError::Truncated(format!(
                "a segment (type {:#x}) at byte {offset} of {} bytes ends past the file's {file_len} bytes",
                segment.p_type(endian),
                segment.p_filesz(endian)
            )));
        }
    }
    Ok(())
}

/// Checks the section table lies inside the file (from the header alone).
fn check_section_table(
    file_len: u64,
    header: &FileHeader64<Endianness>,
    endian: Endianness,
) -> Result<(), LoadError> {
    let offset = header.e_shoff(endian);
    let count = u64::from(header.e_shnum(endian));
    if count == 0 {
        if offset != 0 {
            // 0 sections at a non-zero offset means 0xff00 or more, counted in section 0.
            return Err(LoadError::NotElf(
                "extended section numbering (65280 sections or more) is not supported".into(),
            ));
        }
        return Ok(());
    }
    if u64::from(header.e_shentsize(endian)) != SECTION_HEADER_BYTES {
        return Err(LoadError::NotElf(format!(
            "section header entries of {} bytes (ELF64 has {SECTION_HEADER_BYTES})",
            header.e_shentsize(endian)
        )));
    }
    let end = offset.checked_add(count * SECTION_HEADER_BYTES);
    if end.is_none_or(|end| end > file_len) {
        return Err(LoadError::Truncated(format!(
            "the section table at byte {offset} ({count} entries) ends past the file's {file_len} bytes"
        )));
    }
    Ok(())
}

fn read_error(what: &'static str, error: io::Error) -> LoadError {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        // The file shrank since its length was taken.
        LoadError::Truncated(format!("{what}: the file ended early"))
    } else {
        LoadError::Read {
            what,
            source: error,
        }
    }
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
mod proptests;
#[cfg(test)]
mod tests;
