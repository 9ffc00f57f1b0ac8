//! `struct seccomp_data`: what a seccomp filter reads with `ld [k]`.
//!
//! The kernel fills the structure in the machine's own byte order
//! ("Endianness is explicitly ignored"), so the 32-bit word a filter loads at
//! a given offset depends on the byte order of the machine (the
//! architecture): on a little-endian machine the low half of `args[i]` is at
//! offset `16 + 8 * i`, on a big-endian one at `16 + 8 * i + 4`.

use super::{Arch, Endian, SECCOMP_DATA_SIZE};

/// Number of 32-bit words in `struct seccomp_data` (64 bytes).
pub const SECCOMP_DATA_WORDS: usize = (SECCOMP_DATA_SIZE / 4) as usize;

/// The kernel's `struct seccomp_data`: one system call as a filter sees it.
///
/// `#[repr(C)]`, so it is also the structure the kernel writes into a
/// `struct seccomp_notif` (see `seccomp-install`'s `notif` module) on the
/// machine this code runs on; [`SeccompData::to_bytes`] and
/// [`SeccompData::from_bytes`] give the layout of any other byte order.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SeccompData {
    /// The system call number (an `int`; `ld [0]` loads it as a `u32`, so
    /// `-1` reads as `0xffffffff`).
    pub nr: i32,
    /// The `AUDIT_ARCH_*` value of the calling convention.
    pub arch: u32,
    /// The address of the instruction after the system call instruction.
    pub instruction_pointer: u64,
    /// The six system call arguments, widened to 64 bits.
    pub args: [u64; 6],
}

impl SeccompData {
    /// A call of `nr` under the `AUDIT_ARCH_*` value `arch`, with all
    /// arguments and the instruction pointer zero.
    pub const fn new(nr: i32, arch: u32) -> Self {
        SeccompData {
            nr,
            arch,
            instruction_pointer: 0,
            args: [0; 6],
        }
    }

    /// A call of `nr` on architecture `arch` (arguments and IP zero).
    pub const fn for_arch(arch: Arch, nr: i32) -> Self {
        SeccompData::new(nr, arch.audit_arch())
    }

    /// The same call with these arguments.
    pub const fn with_args(mut self, args: [u64; 6]) -> Self {
        self.args = args;
        self
    }

    /// The same call with this instruction pointer.
    pub const fn with_ip(mut self, ip: u64) -> Self {
        self.instruction_pointer = ip;
        self
    }

    /// The 32-bit word `ld [offset]` loads on a machine of byte order
    /// `endian`.
    ///
    /// Seccomp programs only load aligned words inside the structure
    /// (offsets 0, 4, …, 60); for any other offset this reads the four bytes
    /// at `offset..offset + 4` of [`SeccompData::to_bytes`], with bytes past
    /// the end of the structure reading as zero.
    pub const fn word(&self, offset: u32, endian: Endian) -> u32 {
        if offset % 4 == 0 && offset < SECCOMP_DATA_SIZE {
            return self.word_at((offset / 4) as usize, endian);
        }
        let bytes = self.to_bytes(endian);
        let mut b = [0u8; 4];
        let mut i = 0;
        while i < 4 {
            let at = offset as u64 + i as u64;
            if at < SECCOMP_DATA_SIZE as u64 {
                b[i] = bytes[at as usize];
            }
            i += 1;
        }
        match endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// The word at index `index` (offset `4 * index`) as `ld` loads it;
    /// indices past 15 read as zero.
    pub const fn word_at(&self, index: usize, endian: Endian) -> u32 {
        match index {
            0 => self.nr as u32,
            1 => self.arch,
            2 | 3 => half(self.instruction_pointer, index == 3, endian),
            4..=15 => half(self.args[(index - 4) / 2], index % 2 == 1, endian),
            _ => 0,
        }
    }

    /// All sixteen words, as `ld [0]`, `ld [4]`, …, `ld [60]` load them.
    pub const fn words(&self, endian: Endian) -> [u32; SECCOMP_DATA_WORDS] {
        let a = &self.args;
        let ip = self.instruction_pointer;
        match endian {
            Endian::Little => [
                self.nr as u32,
                self.arch,
                ip as u32,
                (ip >> 32) as u32,
                a[0] as u32,
                (a[0] >> 32) as u32,
                a[1] as u32,
                (a[1] >> 32) as u32,
                a[2] as u32,
                (a[2] >> 32) as u32,
                a[3] as u32,
                (a[3] >> 32) as u32,
                a[4] as u32,
                (a[4] >> 32) as u32,
                a[5] as u32,
                (a[5] >> 32) as u32,
            ],
            Endian::Big => [
                self.nr as u32,
                self.arch,
                (ip >> 32) as u32,
                ip as u32,
                (a[0] >> 32) as u32,
                a[0] as u32,
                (a[1] >> 32) as u32,
                a[1] as u32,
                (a[2] >> 32) as u32,
                a[2] as u32,
                (a[3] >> 32) as u32,
                a[3] as u32,
                (a[4] >> 32) as u32,
                a[4] as u32,
                (a[5] >> 32) as u32,
                a[5] as u32,
            ],
        }
    }

    /// The 64 bytes of the structure as the kernel lays them out on a
    /// machine of byte order `endian`.
    pub const fn to_bytes(&self, endian: Endian) -> [u8; 64] {
        let mut out = [0u8; 64];
        let mut i = 0;
        while i < SECCOMP_DATA_WORDS {
            let w = self.word_at(i, endian);
            let b = match endian {
                Endian::Little => w.to_le_bytes(),
                Endian::Big => w.to_be_bytes(),
            };
            out[4 * i] = b[0];
            out[4 * i + 1] = b[1];
            out[4 * i + 2] = b[2];
            out[4 * i + 3] = b[3];
            i += 1;
        }
        out
    }

    /// Reads the structure from its 64 bytes in byte order `endian` (the
    /// inverse of [`SeccompData::to_bytes`]).
    pub const fn from_bytes(bytes: &[u8; 64], endian: Endian) -> Self {
        let mut args = [0u64; 6];
        let mut i = 0;
        while i < 6 {
            args[i] = u64_at(bytes, 16 + 8 * i, endian);
            i += 1;
        }
        SeccompData {
            nr: u32_at(bytes, 0, endian) as i32,
            arch: u32_at(bytes, 4, endian),
            instruction_pointer: u64_at(bytes, 8, endian),
            args,
        }
    }
}

/// The word of the 64-bit field `v` at its lower (`second == false`) or
/// higher address, in byte order `endian`.
const fn half(v: u64, second: bool, endian: Endian) -> u32 {
    match (endian, second) {
        (Endian::Little, false) | (Endian::Big, true) => v as u32,
        (Endian::Little, true) | (Endian::Big, false) => (v >> 32) as u32,
    }
}

const fn u32_at(bytes: &[u8; 64], o: usize, endian: Endian) -> u32 {
    let b = [bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]];
    match endian {
        Endian::Little => u32::from_le_bytes(b),
        Endian::Big => u32::from_be_bytes(b),
    }
}

const fn u64_at(bytes: &[u8; 64], o: usize, endian: Endian) -> u64 {
    let hi_first = matches!(endian, Endian::Big);
    let first = u32_at(bytes, o, endian) as u64;
    let second = u32_at(bytes, o + 4, endian) as u64;
    if hi_first {
        (first << 32) | second
    } else {
        (second << 32) | first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::{arg_offset, ip_offset, Half};

    fn sample() -> SeccompData {
        SeccompData {
            nr: -1,
            arch: 0xc000_003e,
            instruction_pointer: 0x0102_0304_0506_0708,
            args: [
                0x1122_3344_5566_7788,
                0xdead_beef_0000_0001,
                2,
                3 << 32,
                u64::MAX,
                0x8000_0000_7fff_ffff,
            ],
        }
    }

    #[test]
    fn little_endian_words_match_the_kernel_layout() {
        let d = sample();
        // §5.2: arg0 = 0x1122334455667788 gives ld [16] = 0x55667788, ld [20] = 0x11223344.
        assert_eq!(d.word(16, Endian::Little), 0x5566_7788);
        assert_eq!(d.word(20, Endian::Little), 0x1122_3344);
        assert_eq!(d.word(0, Endian::Little), 0xffff_ffff);
        assert_eq!(d.word(4, Endian::Little), 0xc000_003e);
        assert_eq!(d.word(8, Endian::Little), 0x0506_0708);
        assert_eq!(d.word(12, Endian::Little), 0x0102_0304);
    }

    #[test]
    fn big_endian_words_swap_the_halves_of_64_bit_fields() {
        let d = sample();
        assert_eq!(d.word(16, Endian::Big), 0x1122_3344);
        assert_eq!(d.word(20, Endian::Big), 0x5566_7788);
        assert_eq!(d.word(0, Endian::Big), 0xffff_ffff);
        assert_eq!(d.word(4, Endian::Big), 0xc000_003e);
        assert_eq!(d.word(8, Endian::Big), 0x0102_0304);
        assert_eq!(d.word(12, Endian::Big), 0x0506_0708);
    }

    #[test]
    fn words_agree_with_bytes_and_offset_helpers() {
        let d = sample();
        for endian in [Endian::Little, Endian::Big] {
            let bytes = d.to_bytes(endian);
            assert_eq!(SeccompData::from_bytes(&bytes, endian), d);
            for off in 0..70u32 {
                let mut b = [0u8; 4];
                for (i, slot) in b.iter_mut().enumerate() {
                    *slot = *bytes.get(off as usize + i).unwrap_or(&0);
                }
                let want = match endian {
                    Endian::Little => u32::from_le_bytes(b),
                    Endian::Big => u32::from_be_bytes(b),
                };
                assert_eq!(d.word(off, endian), want, "offset {off} {endian:?}");
            }
            for i in 0..6u32 {
                let lo = arg_offset(i, Half::Low, endian).unwrap();
                let hi = arg_offset(i, Half::High, endian).unwrap();
                assert_eq!(d.word(lo, endian), d.args[i as usize] as u32);
                assert_eq!(d.word(hi, endian), (d.args[i as usize] >> 32) as u32);
            }
            assert_eq!(
                d.word(ip_offset(Half::Low, endian), endian),
                d.instruction_pointer as u32
            );
            assert_eq!(d.words(endian)[15], d.word(60, endian));
        }
        // Native layout on this machine: identical to the C struct's memory.
        let bytes = d.to_bytes(Endian::HOST);
        assert_eq!(&bytes[0..4], &d.nr.to_ne_bytes());
        assert_eq!(&bytes[16..24], &d.args[0].to_ne_bytes());
    }

    #[test]
    fn layout_is_the_kernel_struct() {
        use core::mem::{align_of, offset_of, size_of};
        assert_eq!(size_of::<SeccompData>(), SECCOMP_DATA_SIZE as usize);
        assert_eq!(align_of::<SeccompData>(), 8);
        assert_eq!(
            offset_of!(SeccompData, nr),
            crate::seccomp::SECCOMP_DATA_NR as usize
        );
        assert_eq!(
            offset_of!(SeccompData, arch),
            crate::seccomp::SECCOMP_DATA_ARCH as usize
        );
        assert_eq!(
            offset_of!(SeccompData, instruction_pointer),
            crate::seccomp::SECCOMP_DATA_IP as usize
        );
        assert_eq!(
            offset_of!(SeccompData, args),
            crate::seccomp::SECCOMP_DATA_ARGS as usize
        );
    }
}
