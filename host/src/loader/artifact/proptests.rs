//! Property tests of the ELF checks, fed random bytes, random headers and mutations of a
//! real artifact (this test binary, a PIE built by cargo): they never panic, never accept a
//! file whose segments or section table lie outside it, and never read anything but the
//! ELF header and the program header table the header points to.

use std::{cell::RefCell, io, sync::OnceLock};

use proptest::{collection::vec, prelude::*};

use super::{ELF_HEADER_BYTES, MAX_PROGRAM_HEADERS, ReadAt, check_elf, native_machine};

/// A file of `len` bytes: zeros, overlaid with `chunks` (later ones win). Records reads.
#[derive(Debug, Clone)]
struct Model {
    len: u64,
    chunks: Vec<(u64, Vec<u8>)>,
    reads: RefCell<Vec<(u64, u64)>>,
}

impl Model {
    fn new(len: u64, chunks: Vec<(u64, Vec<u8>)>) -> Self {
        Self {
            len,
            chunks,
            reads: RefCell::new(Vec::new()),
        }
    }

    fn byte(&self, at: u64) -> u8 {
        self.chunks
            .iter()
            .rev()
            .find_map(|(start, bytes)| {
                let index = at.checked_sub(*start)?;
                bytes.get(usize::try_from(index).ok()?).copied()
            })
            .unwrap_or(0)
    }

    fn bytes(&self, at: u64, len: u64) -> Vec<u8> {
        (at..at + len).map(|i| self.byte(i)).collect()
    }

    fn u16_at(&self, at: u64, big: bool) -> u64 {
        let b = self.bytes(at, 2);
        u64::from(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    }

    fn u32_at(&self, at: u64, big: bool) -> u64 {
        let b: [u8; 4] = self.bytes(at, 4).try_into().expect("4 bytes");
        u64::from(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64_at(&self, at: u64, big: bool) -> u64 {
        let b: [u8; 8] = self.bytes(at, 8).try_into().expect("8 bytes");
        if big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        }
    }
}

impl ReadAt for Model {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let len = buf.len() as u64;
        self.reads.borrow_mut().push((offset, len));
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte = self.byte(offset + i as u64);
        }
        Ok(())
    }
}

/// Checks the three properties on one file; panics (fails the case) on a violation.
fn assert_properties(file: &Model) {
    let verdict = check_elf(file, file.len);
    let reads = file.reads.borrow().clone();
    let total: u64 = reads.iter().map(|(_, len)| len).sum();
    assert!(
        total <= ELF_HEADER_BYTES + MAX_PROGRAM_HEADERS * 56,
        "read {total} bytes: {reads:?}"
    );
    if file.len == 0 {
        assert!(verdict.is_err());
        assert!(reads.is_empty());
        return;
    }
    // The header region, as the (possibly mutated) header itself describes it.
    let big = file.byte(5) == 2;
    let phoff = u128::from(file.u64_at(0x20, big));
    let phentsize = u128::from(file.u16_at(0x36, big));
    let phnum = u128::from(file.u16_at(0x38, big));
    for (offset, len) in &reads {
        let (start, end) = (u128::from(*offset), u128::from(*offset) + u128::from(*len));
        let in_header = end <= u128::from(ELF_HEADER_BYTES);
        let in_table = start >= phoff && end <= phoff + phnum * phentsize;
        assert!(
            in_header || in_table,
            "read {len} bytes at {offset} outside the header ({phoff}+{phnum}x{phentsize}): {verdict:?}"
        );
    }
    if verdict.is_err() {
        return;
    }
    // Accepted: a 64-bit shared object for this machine whose segments and section table
    // lie inside the file.
    let len = u128::from(file.len);
    assert_eq!(&file.bytes(0, 4), b"\x7fELF");
    assert_eq!(file.u16_at(0x10, big), u64::from(object::elf::ET_DYN));
    assert_eq!(file.u16_at(0x12, big), u64::from(native_machine()));
    assert!(phnum > 0 && phentsize == 56);
    for index in 0..phnum {
        let entry = u64::try_from(phoff + index * 56).expect("small");
        let p_type = file.u32_at(entry, big);
        let offset = u128::from(file.u64_at(entry + 8, big));
        let filesz = u128::from(file.u64_at(entry + 32, big));
        assert!(
            offset + filesz <= len,
            "accepted a segment (type {p_type:#x}) at {offset}+{filesz} in a file of {len} bytes"
        );
    }
    let shoff = u128::from(file.u64_at(0x28, big));
    let shentsize = u128::from(file.u16_at(0x3a, big));
    let shnum = u128::from(file.u16_at(0x3c, big));
    assert!(
        shoff + shnum * shentsize <= len,
        "accepted a section table at {shoff}+{shnum}x{shentsize} in a file of {len} bytes"
    );
}

/// This test binary's ELF header and program headers, and its length.
fn real_artifact() -> &'static (Vec<u8>, u64) {
    static HEAD: OnceLock<(Vec<u8>, u64)> = OnceLock::new();
    HEAD.get_or_init(|| {
        let bytes = std::fs::read(std::env::current_exe().expect("current exe")).expect("read");
        let phoff = u64::from_le_bytes(bytes[0x20..0x28].try_into().expect("8 bytes"));
        let phnum = u16::from_le_bytes([bytes[0x38], bytes[0x39]]);
        let end = usize::try_from(phoff).expect("small") + usize::from(phnum) * 56;
        (bytes[..end].to_vec(), bytes.len() as u64)
    })
}

/// A well-formed ELF64 header for this machine with the given table fields.
fn header(
    phoff: u64,
    phentsize: u16,
    phnum: u16,
    shoff: u64,
    shentsize: u16,
    shnum: u16,
) -> Vec<u8> {
    let mut header = vec![0u8; 64];
    header[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    header[0x10..0x12].copy_from_slice(&object::elf::ET_DYN.to_le_bytes());
    header[0x12..0x14].copy_from_slice(&native_machine().to_le_bytes());
    header[0x14..0x18].copy_from_slice(&1u32.to_le_bytes());
    header[0x20..0x28].copy_from_slice(&phoff.to_le_bytes());
    header[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    header[0x34..0x36].copy_from_slice(&64u16.to_le_bytes());
    header[0x36..0x38].copy_from_slice(&phentsize.to_le_bytes());
    header[0x38..0x3a].copy_from_slice(&phnum.to_le_bytes());
    header[0x3a..0x3c].copy_from_slice(&shentsize.to_le_bytes());
    header[0x3c..0x3e].copy_from_slice(&shnum.to_le_bytes());
    header
}

/// One program header.
fn segment(p_type: u32, offset: u64, filesz: u64) -> Vec<u8> {
    let mut entry = vec![0u8; 56];
    entry[..4].copy_from_slice(&p_type.to_le_bytes());
    entry[8..16].copy_from_slice(&offset.to_le_bytes());
    entry[32..40].copy_from_slice(&filesz.to_le_bytes());
    entry[40..48].copy_from_slice(&filesz.to_le_bytes());
    entry
}

/// Values near the interesting edges: small, around a length, huge.
fn edgy(len: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        0..256u64,
        0..=len,
        len.saturating_sub(64)..=len.saturating_add(64),
        any::<u64>(),
        Just(u64::MAX),
    ]
}

fn generated_file() -> impl Strategy<Value = Model> {
    (1u64..1 << 40).prop_flat_map(|len| {
        (
            Just(len),
            edgy(len),
            prop_oneof![Just(56u16), any::<u16>()],
            prop_oneof![0u16..24, any::<u16>()],
            edgy(len),
            prop_oneof![Just(64u16), any::<u16>()],
            prop_oneof![0u16..64, any::<u16>()],
            vec(
                (
                    prop_oneof![Just(1u32), Just(2u32), any::<u32>()],
                    edgy(len),
                    edgy(len),
                ),
                0..24,
            ),
        )
            .prop_map(
                |(len, phoff, phentsize, phnum, shoff, shentsize, shnum, segments)| {
                    let table: Vec<u8> = segments
                        .iter()
                        .flat_map(|(p_type, offset, filesz)| segment(*p_type, *offset, *filesz))
                        .collect();
                    Model::new(
                        len,
                        vec![
                            (0, header(phoff, phentsize, phnum, shoff, shentsize, shnum)),
                            (phoff, table),
                        ],
                    )
                },
            )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_handled(bytes in vec(any::<u8>(), 0..4096), extra in 0u64..1 << 20) {
        let len = bytes.len() as u64 + extra;
        assert_properties(&Model::new(len, vec![(0, bytes)]));
    }

    #[test]
    fn random_bytes_behind_an_elf_magic_are_handled(rest in vec(any::<u8>(), 0..2048), len in 0u64..1 << 16) {
        let mut bytes = b"\x7fELF\x02\x01\x01".to_vec();
        bytes.extend(rest);
        assert_properties(&Model::new(len, vec![(0, bytes)]));
    }

    #[test]
    fn generated_headers_are_handled(file in generated_file()) {
        assert_properties(&file);
    }

    #[test]
    fn mutations_of_a_real_artifact_are_handled(
        patches in vec((any::<prop::sample::Index>(), any::<u8>()), 0..12),
        len in prop_oneof![Just(None), (0u64..1 << 36).prop_map(Some)],
    ) {
        let (head, real_len) = real_artifact();
        let mut head = head.clone();
        for (index, byte) in &patches {
            let at = index.index(head.len());
            head[at] = *byte;
        }
        assert_properties(&Model::new(len.unwrap_or(*real_len), vec![(0, head)]));
    }
}

#[test]
fn the_unmutated_real_artifact_is_accepted() {
    let (head, len) = real_artifact();
    let file = Model::new(*len, vec![(0, head.clone())]);
    check_elf(&file, *len).expect("the test binary is a valid shared object");
    assert_properties(&file);
}
