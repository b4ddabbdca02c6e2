//! The ELF checks refuse what would crash or confuse dlopen, and read only the headers.

use std::{cell::RefCell, io, os::unix::fs::FileExt as _};

use super::{ELF_HEADER_BYTES, ReadAt, check_elf};
use crate::loader::LoadError;

/// A file in memory that records every read.
pub(super) struct Recorded<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) reads: RefCell<Vec<(u64, usize)>>,
}

impl<'a> Recorded<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            reads: RefCell::new(Vec::new()),
        }
    }

    fn bytes_read(&self) -> usize {
        self.reads.borrow().iter().map(|(_, len)| len).sum()
    }
}

impl ReadAt for Recorded<'_> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.reads.borrow_mut().push((offset, buf.len()));
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let source = start
            .checked_add(buf.len())
            .and_then(|end| self.bytes.get(start..end))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(source);
        Ok(())
    }
}

fn own_executable() -> Vec<u8> {
    std::fs::read(std::env::current_exe().expect("current exe")).expect("read exe")
}

/// The number of program headers of an ELF64 little-endian header.
fn program_headers(header: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([header[0x38], header[0x39]]))
}

#[test]
fn empty_is_refused() {
    let file = Recorded::new(&[]);
    assert!(matches!(check_elf(&file, 0), Err(LoadError::Empty)));
}

#[test]
fn random_bytes_are_not_elf() {
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = Recorded::new(&noise);
    assert!(matches!(
        check_elf(&file, noise.len() as u64),
        Err(LoadError::NotElf(_))
    ));
    assert_eq!(file.bytes_read(), 64, "the header alone told");
}

#[test]
fn a_truncated_object_is_refused() {
    let exe = own_executable();
    let half = &exe[..exe.len() / 2];
    let error = check_elf(&Recorded::new(half), half.len() as u64).expect_err("half a file");
    // The test binary is a PIE (ET_DYN) on this toolchain, so the check reaches the segments.
    assert!(matches!(error, LoadError::Truncated(_)), "{error}");
}

#[test]
fn a_whole_object_passes_reading_only_its_headers() {
    let exe = own_executable();
    let file = Recorded::new(&exe);
    check_elf(&file, exe.len() as u64).expect("complete object");
    let headers = program_headers(&exe);
    assert!(headers > 0);
    assert_eq!(
        file.bytes_read() as u64,
        ELF_HEADER_BYTES + headers as u64 * 56,
        "the ELF header and the program headers, nothing else: {:?}",
        file.reads.borrow()
    );
}

#[test]
fn program_headers_far_into_a_large_file_are_read_where_they_are() {
    // A sparse 1 GiB file whose program headers sit at its end: found by seeking there, and
    // the gigabyte in between is never read.
    let exe = own_executable();
    let headers = program_headers(&exe);
    let table = &exe[64..64 + headers * 56];
    let path = std::env::temp_dir().join(format!("frontdoor-far-phdrs-{}", std::process::id()));
    let file = std::fs::File::create(&path).expect("create");
    let far = (1u64 << 30) - table.len() as u64;
    let mut header = exe[..64].to_vec();
    header[0x20..0x28].copy_from_slice(&far.to_le_bytes());
    // No section table: only the segments matter here.
    header[0x28..0x30].copy_from_slice(&0u64.to_le_bytes());
    header[0x3c..0x3e].copy_from_slice(&0u16.to_le_bytes());
    file.write_all_at(&header, 0).expect("write header");
    file.write_all_at(table, far)
        .expect("write program headers");
    file.set_len(1 << 30).expect("extend");
    drop(file);

    let file = std::fs::File::open(&path).expect("open");
    let reader = CountingFile {
        file,
        bytes: RefCell::new(0),
    };
    check_elf(&reader, 1 << 30).expect("valid: segments lie inside the gigabyte");
    assert_eq!(*reader.bytes.borrow(), 64 + table.len() as u64);
    std::fs::remove_file(path).expect("clean up");
}

struct CountingFile {
    file: std::fs::File,
    bytes: RefCell<u64>,
}

impl ReadAt for CountingFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        *self.bytes.borrow_mut() += buf.len() as u64;
        ReadAt::read_exact_at(&self.file, buf, offset)
    }
}

#[test]
fn headers_past_the_end_or_absurd_counts_are_refused_without_reading_them() {
    let exe = own_executable();
    let mut header = exe[..64].to_vec();
    // Program headers claimed to lie past the end of a 1 MB file.
    header[0x20..0x28].copy_from_slice(&(2u64 << 20).to_le_bytes());
    let file = Recorded::new(&header);
    let error = check_elf(&file, 1 << 20).expect_err("past the end");
    assert!(matches!(error, LoadError::Truncated(_)), "{error}");
    assert_eq!(file.bytes_read(), 64);

    // PN_XNUM program headers: refused from the count.
    let mut header = exe[..64].to_vec();
    header[0x38..0x3a].copy_from_slice(&0xffffu16.to_le_bytes());
    let file = Recorded::new(&header);
    let error = check_elf(&file, 1 << 30).expect_err("too many");
    assert!(
        error.to_string().contains("65535 program headers"),
        "{error}"
    );
    assert_eq!(file.bytes_read(), 64);
}
