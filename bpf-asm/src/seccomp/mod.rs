//! Seccomp constants: return actions (`SECCOMP_RET_*`), audit architectures
//! (`AUDIT_ARCH_*`), the layout of `struct seccomp_data`, and [`Arch`], the
//! architectures whose syscall tables the toolkit knows (through the
//! `syscalls` crate).

mod data;
mod flags;
pub use data::{SeccompData, SECCOMP_DATA_WORDS};
pub use flags::Flags;

/// Kill the whole process (thread group), with a core dump.
pub const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
/// Kill the calling thread.
pub const SECCOMP_RET_KILL_THREAD: u32 = 0x0000_0000;
/// Old name of [`SECCOMP_RET_KILL_THREAD`].
pub const SECCOMP_RET_KILL: u32 = SECCOMP_RET_KILL_THREAD;
/// Send SIGSYS to the thread.
pub const SECCOMP_RET_TRAP: u32 = 0x0003_0000;
/// Fail the syscall with the errno in the data bits.
pub const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// Ask the user-space notification listener.
pub const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// Stop for a ptrace tracer.
pub const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
/// Allow after logging.
pub const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
/// Allow.
pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
/// Mask of the action bits (since 4.14).
pub const SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;
/// Legacy mask of the action bits.
pub const SECCOMP_RET_ACTION: u32 = 0x7fff_0000;
/// Mask of the data bits.
pub const SECCOMP_RET_DATA: u32 = 0x0000_ffff;

/// The highest errno value the kernel passes through (`MAX_ERRNO`).
pub const MAX_ERRNO: u32 = 4095;

/// `EM_*` bit: 64-bit ABI.
pub const __AUDIT_ARCH_64BIT: u32 = 0x8000_0000;
/// `EM_*` bit: little-endian.
pub const __AUDIT_ARCH_LE: u32 = 0x4000_0000;

/// `AUDIT_ARCH_X86_64` (also x32, told apart by [`X32_SYSCALL_BIT`]).
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386`.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `AUDIT_ARCH_AARCH64`.
pub const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// `AUDIT_ARCH_ARM` (EABI, little-endian).
pub const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
/// `AUDIT_ARCH_ARMEB`.
pub const AUDIT_ARCH_ARMEB: u32 = 0x0000_0028;
/// `AUDIT_ARCH_RISCV64`.
pub const AUDIT_ARCH_RISCV64: u32 = 0xc000_00f3;
/// `AUDIT_ARCH_RISCV32`.
pub const AUDIT_ARCH_RISCV32: u32 = 0x4000_00f3;
/// `AUDIT_ARCH_S390X`.
pub const AUDIT_ARCH_S390X: u32 = 0x8000_0016;
/// `AUDIT_ARCH_S390`.
pub const AUDIT_ARCH_S390: u32 = 0x0000_0016;
/// `AUDIT_ARCH_PPC64LE`.
pub const AUDIT_ARCH_PPC64LE: u32 = 0xc000_0015;
/// `AUDIT_ARCH_PPC64`.
pub const AUDIT_ARCH_PPC64: u32 = 0x8000_0015;
/// `AUDIT_ARCH_PPC`.
pub const AUDIT_ARCH_PPC: u32 = 0x0000_0014;
/// `AUDIT_ARCH_MIPS`.
pub const AUDIT_ARCH_MIPS: u32 = 0x0000_0008;
/// `AUDIT_ARCH_MIPSEL`.
pub const AUDIT_ARCH_MIPSEL: u32 = 0x4000_0008;
/// `AUDIT_ARCH_MIPS64`.
pub const AUDIT_ARCH_MIPS64: u32 = 0x8000_0008;
/// `AUDIT_ARCH_MIPSEL64`.
pub const AUDIT_ARCH_MIPSEL64: u32 = 0xc000_0008;
/// `AUDIT_ARCH_MIPS64N32`.
pub const AUDIT_ARCH_MIPS64N32: u32 = 0xa000_0008;
/// `AUDIT_ARCH_MIPSEL64N32`.
pub const AUDIT_ARCH_MIPSEL64N32: u32 = 0xe000_0008;
/// `AUDIT_ARCH_LOONGARCH64`.
pub const AUDIT_ARCH_LOONGARCH64: u32 = 0xc000_0102;
/// `AUDIT_ARCH_LOONGARCH32`.
pub const AUDIT_ARCH_LOONGARCH32: u32 = 0x4000_0102;
/// `AUDIT_ARCH_PARISC`.
pub const AUDIT_ARCH_PARISC: u32 = 0x0000_000f;
/// `AUDIT_ARCH_PARISC64`.
pub const AUDIT_ARCH_PARISC64: u32 = 0x8000_000f;
/// `AUDIT_ARCH_SPARC`.
pub const AUDIT_ARCH_SPARC: u32 = 0x0000_0002;
/// `AUDIT_ARCH_SPARC64`.
pub const AUDIT_ARCH_SPARC64: u32 = 0x8000_002b;
/// `AUDIT_ARCH_CSKY`.
pub const AUDIT_ARCH_CSKY: u32 = 0x4000_00fc;
/// `AUDIT_ARCH_SH`.
pub const AUDIT_ARCH_SH: u32 = 0x0000_002a;
/// `AUDIT_ARCH_SHEL`.
pub const AUDIT_ARCH_SHEL: u32 = 0x4000_002a;
/// `AUDIT_ARCH_M68K`.
pub const AUDIT_ARCH_M68K: u32 = 0x0000_0004;
/// `AUDIT_ARCH_XTENSA`.
pub const AUDIT_ARCH_XTENSA: u32 = 0x0000_005e;

/// Every `AUDIT_ARCH_*` name with its value, for parsing and printing.
pub const AUDIT_ARCH_NAMES: [(&str, u32); 30] = [
    ("AUDIT_ARCH_X86_64", AUDIT_ARCH_X86_64),
    ("AUDIT_ARCH_I386", AUDIT_ARCH_I386),
    ("AUDIT_ARCH_AARCH64", AUDIT_ARCH_AARCH64),
    ("AUDIT_ARCH_ARM", AUDIT_ARCH_ARM),
    ("AUDIT_ARCH_ARMEB", AUDIT_ARCH_ARMEB),
    ("AUDIT_ARCH_RISCV64", AUDIT_ARCH_RISCV64),
    ("AUDIT_ARCH_RISCV32", AUDIT_ARCH_RISCV32),
    ("AUDIT_ARCH_S390X", AUDIT_ARCH_S390X),
    ("AUDIT_ARCH_S390", AUDIT_ARCH_S390),
    ("AUDIT_ARCH_PPC64LE", AUDIT_ARCH_PPC64LE),
    ("AUDIT_ARCH_PPC64", AUDIT_ARCH_PPC64),
    ("AUDIT_ARCH_PPC", AUDIT_ARCH_PPC),
    ("AUDIT_ARCH_MIPS", AUDIT_ARCH_MIPS),
    ("AUDIT_ARCH_MIPSEL", AUDIT_ARCH_MIPSEL),
    ("AUDIT_ARCH_MIPS64", AUDIT_ARCH_MIPS64),
    ("AUDIT_ARCH_MIPSEL64", AUDIT_ARCH_MIPSEL64),
    ("AUDIT_ARCH_MIPS64N32", AUDIT_ARCH_MIPS64N32),
    ("AUDIT_ARCH_MIPSEL64N32", AUDIT_ARCH_MIPSEL64N32),
    ("AUDIT_ARCH_LOONGARCH64", AUDIT_ARCH_LOONGARCH64),
    ("AUDIT_ARCH_LOONGARCH32", AUDIT_ARCH_LOONGARCH32),
    ("AUDIT_ARCH_PARISC", AUDIT_ARCH_PARISC),
    ("AUDIT_ARCH_PARISC64", AUDIT_ARCH_PARISC64),
    ("AUDIT_ARCH_SPARC", AUDIT_ARCH_SPARC),
    ("AUDIT_ARCH_SPARC64", AUDIT_ARCH_SPARC64),
    ("AUDIT_ARCH_CSKY", AUDIT_ARCH_CSKY),
    ("AUDIT_ARCH_SH", AUDIT_ARCH_SH),
    ("AUDIT_ARCH_SHEL", AUDIT_ARCH_SHEL),
    ("AUDIT_ARCH_M68K", AUDIT_ARCH_M68K),
    ("AUDIT_ARCH_XTENSA", AUDIT_ARCH_XTENSA),
    ("AUDIT_ARCH_X32", AUDIT_ARCH_X86_64),
];

/// Bit set in the syscall number of x32 calls (`__X32_SYSCALL_BIT`).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Size of `struct seccomp_data` in bytes.
pub const SECCOMP_DATA_SIZE: u32 = 64;
/// Offset of `seccomp_data.nr` (a native-endian `int`).
pub const SECCOMP_DATA_NR: u32 = 0;
/// Offset of `seccomp_data.arch` (a native-endian `__u32`).
pub const SECCOMP_DATA_ARCH: u32 = 4;
/// Offset of `seccomp_data.instruction_pointer` (a `__u64`).
pub const SECCOMP_DATA_IP: u32 = 8;
/// Offset of `seccomp_data.args[0]`; `args[i]` is at `16 + 8 * i`.
pub const SECCOMP_DATA_ARGS: u32 = 16;

/// Byte order of an architecture's `seccomp_data` words.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Endian {
    /// The byte order of the machine this code runs on.
    pub const HOST: Endian = if cfg!(target_endian = "big") {
        Endian::Big
    } else {
        Endian::Little
    };
}

/// One 32-bit word of a 64-bit `seccomp_data` field.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Half {
    /// Bits 0..32.
    Low,
    /// Bits 32..64.
    High,
}

/// Offset of the low or high word of `args[index]` for a byte order
/// (`None` when `index > 5`).
pub const fn arg_offset(index: u32, half: Half, endian: Endian) -> Option<u32> {
    if index > 5 {
        return None;
    }
    Some(word_offset(SECCOMP_DATA_ARGS + 8 * index, half, endian))
}

/// Offset of the low or high word of `instruction_pointer` for a byte order.
pub const fn ip_offset(half: Half, endian: Endian) -> u32 {
    word_offset(SECCOMP_DATA_IP, half, endian)
}

const fn word_offset(base: u32, half: Half, endian: Endian) -> u32 {
    match (half, endian) {
        (Half::Low, Endian::Little) | (Half::High, Endian::Big) => base,
        (Half::High, Endian::Little) | (Half::Low, Endian::Big) => base + 4,
    }
}

/// An architecture the toolkit has a syscall table for.
///
/// Syscall numbers come from the `syscalls` crate; nothing here is a
/// hand-written table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Arch {
    /// x86-64 (64-bit ABI).
    X86_64,
    /// i386, also compat calls (`int $0x80`) of x86-64 tasks.
    X86,
    /// ARM64.
    Aarch64,
    /// 32-bit ARM EABI, little-endian.
    Arm,
    /// RISC-V 64.
    Riscv64,
    /// RISC-V 32.
    Riscv32,
    /// LoongArch 64.
    Loongarch64,
    /// s390x (big-endian).
    S390x,
    /// 64-bit PowerPC, little-endian.
    Ppc64le,
    /// 64-bit PowerPC, big-endian.
    Ppc64,
    /// 32-bit PowerPC (big-endian).
    Ppc,
    /// MIPS O32, big-endian.
    Mips,
    /// MIPS O32, little-endian.
    Mipsel,
    /// MIPS N64, big-endian.
    Mips64,
    /// MIPS N64, little-endian.
    Mipsel64,
    /// SPARC 32.
    Sparc,
    /// SPARC 64.
    Sparc64,
}

impl Arch {
    /// Every known architecture.
    pub const ALL: [Arch; 17] = [
        Arch::X86_64,
        Arch::X86,
        Arch::Aarch64,
        Arch::Arm,
        Arch::Riscv64,
        Arch::Riscv32,
        Arch::Loongarch64,
        Arch::S390x,
        Arch::Ppc64le,
        Arch::Ppc64,
        Arch::Ppc,
        Arch::Mips,
        Arch::Mipsel,
        Arch::Mips64,
        Arch::Mipsel64,
        Arch::Sparc,
        Arch::Sparc64,
    ];

    /// The canonical name (as libseccomp spells it, `x86` also accepted as `i386`).
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::X86 => "x86",
            Arch::Aarch64 => "aarch64",
            Arch::Arm => "arm",
            Arch::Riscv64 => "riscv64",
            Arch::Riscv32 => "riscv32",
            Arch::Loongarch64 => "loongarch64",
            Arch::S390x => "s390x",
            Arch::Ppc64le => "ppc64le",
            Arch::Ppc64 => "ppc64",
            Arch::Ppc => "ppc",
            Arch::Mips => "mips",
            Arch::Mipsel => "mipsel",
            Arch::Mips64 => "mips64",
            Arch::Mipsel64 => "mipsel64",
            Arch::Sparc => "sparc",
            Arch::Sparc64 => "sparc64",
        }
    }

    /// Parses a name: the canonical names, `i386`/`i686`/`x86`, `arm64`,
    /// Docker's `SCMP_ARCH_*` names and the `AUDIT_ARCH_*` names
    /// (case-insensitive).
    pub fn from_name(name: &str) -> Option<Arch> {
        let mut buf = [0u8; 40];
        let bytes = name.as_bytes();
        if bytes.len() > buf.len() {
            return None;
        }
        for (i, b) in bytes.iter().enumerate() {
            buf[i] = b.to_ascii_lowercase();
        }
        let mut s = core::str::from_utf8(&buf[..bytes.len()]).ok()?;
        if let Some(rest) = s.strip_prefix("scmp_arch_") {
            s = rest;
        } else if let Some(rest) = s.strip_prefix("audit_arch_") {
            s = rest;
        }
        Some(match s {
            "x86_64" | "amd64" | "x86-64" => Arch::X86_64,
            "x86" | "i386" | "i686" => Arch::X86,
            "aarch64" | "arm64" => Arch::Aarch64,
            "arm" => Arch::Arm,
            "riscv64" => Arch::Riscv64,
            "riscv32" => Arch::Riscv32,
            "loongarch64" => Arch::Loongarch64,
            "s390x" => Arch::S390x,
            "ppc64le" => Arch::Ppc64le,
            "ppc64" => Arch::Ppc64,
            "ppc" => Arch::Ppc,
            "mips" => Arch::Mips,
            "mipsel" => Arch::Mipsel,
            "mips64" => Arch::Mips64,
            "mipsel64" => Arch::Mipsel64,
            "sparc" => Arch::Sparc,
            "sparc64" => Arch::Sparc64,
            _ => return None,
        })
    }

    /// The architecture with this `AUDIT_ARCH_*` value, if known.
    pub const fn from_audit(audit: u32) -> Option<Arch> {
        let mut i = 0;
        while i < Arch::ALL.len() {
            if Arch::ALL[i].audit_arch() == audit {
                return Some(Arch::ALL[i]);
            }
            i += 1;
        }
        None
    }

    /// The `AUDIT_ARCH_*` value the kernel puts in `seccomp_data.arch`.
    pub const fn audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 => AUDIT_ARCH_X86_64,
            Arch::X86 => AUDIT_ARCH_I386,
            Arch::Aarch64 => AUDIT_ARCH_AARCH64,
            Arch::Arm => AUDIT_ARCH_ARM,
            Arch::Riscv64 => AUDIT_ARCH_RISCV64,
            Arch::Riscv32 => AUDIT_ARCH_RISCV32,
            Arch::Loongarch64 => AUDIT_ARCH_LOONGARCH64,
            Arch::S390x => AUDIT_ARCH_S390X,
            Arch::Ppc64le => AUDIT_ARCH_PPC64LE,
            Arch::Ppc64 => AUDIT_ARCH_PPC64,
            Arch::Ppc => AUDIT_ARCH_PPC,
            Arch::Mips => AUDIT_ARCH_MIPS,
            Arch::Mipsel => AUDIT_ARCH_MIPSEL,
            Arch::Mips64 => AUDIT_ARCH_MIPS64,
            Arch::Mipsel64 => AUDIT_ARCH_MIPSEL64,
            Arch::Sparc => AUDIT_ARCH_SPARC,
            Arch::Sparc64 => AUDIT_ARCH_SPARC64,
        }
    }

    /// Byte order of the architecture's `seccomp_data` words.
    pub const fn endian(self) -> Endian {
        if self.audit_arch() & __AUDIT_ARCH_LE != 0 {
            Endian::Little
        } else {
            Endian::Big
        }
    }

    /// Whether arguments are 64 bits wide (both words of `args[i]` meaningful).
    pub const fn is_64bit(self) -> bool {
        self.audit_arch() & __AUDIT_ARCH_64BIT != 0
    }

    /// The architecture of the machine this code was built for, if known.
    pub const fn host() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "x86") {
            Some(Arch::X86)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else if cfg!(target_arch = "arm") {
            Some(Arch::Arm)
        } else if cfg!(target_arch = "riscv64") {
            Some(Arch::Riscv64)
        } else if cfg!(target_arch = "riscv32") {
            Some(Arch::Riscv32)
        } else if cfg!(target_arch = "loongarch64") {
            Some(Arch::Loongarch64)
        } else if cfg!(target_arch = "s390x") {
            Some(Arch::S390x)
        } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
            Some(Arch::Ppc64le)
        } else if cfg!(target_arch = "powerpc64") {
            Some(Arch::Ppc64)
        } else if cfg!(target_arch = "powerpc") {
            Some(Arch::Ppc)
        } else if cfg!(all(target_arch = "mips", target_endian = "little")) {
            Some(Arch::Mipsel)
        } else if cfg!(target_arch = "mips") {
            Some(Arch::Mips)
        } else if cfg!(all(target_arch = "mips64", target_endian = "little")) {
            Some(Arch::Mipsel64)
        } else if cfg!(target_arch = "mips64") {
            Some(Arch::Mips64)
        } else if cfg!(target_arch = "sparc64") {
            Some(Arch::Sparc64)
        } else if cfg!(target_arch = "sparc") {
            Some(Arch::Sparc)
        } else {
            None
        }
    }

    /// The syscall number of `name` on this architecture (usable in `const`).
    pub const fn syscall_nr(self, name: &str) -> Option<u32> {
        macro_rules! lookup {
            ($m:ident) => {{
                let first = syscalls::$m::Sysno::first().id();
                let last = syscalls::$m::Sysno::last().id();
                let mut id = first;
                while id <= last {
                    if let Some(s) = syscalls::$m::Sysno::new(id as usize) {
                        if str_eq(s.name(), name) {
                            return Some(id as u32);
                        }
                    }
                    id += 1;
                }
                None
            }};
        }
        match self {
            Arch::X86_64 => lookup!(x86_64),
            Arch::X86 => lookup!(x86),
            Arch::Aarch64 => lookup!(aarch64),
            Arch::Arm => lookup!(arm),
            Arch::Riscv64 => lookup!(riscv64),
            Arch::Riscv32 => lookup!(riscv32),
            Arch::Loongarch64 => lookup!(loongarch64),
            Arch::S390x => lookup!(s390x),
            Arch::Ppc64le | Arch::Ppc64 => lookup!(powerpc64),
            Arch::Ppc => lookup!(powerpc),
            Arch::Mips | Arch::Mipsel => lookup!(mips),
            Arch::Mips64 | Arch::Mipsel64 => lookup!(mips64),
            Arch::Sparc => lookup!(sparc),
            Arch::Sparc64 => lookup!(sparc64),
        }
    }

    /// The name of syscall `nr` on this architecture.
    pub const fn syscall_name(self, nr: u32) -> Option<&'static str> {
        macro_rules! name {
            ($m:ident) => {
                match syscalls::$m::Sysno::new(nr as usize) {
                    Some(s) => Some(s.name()),
                    None => None,
                }
            };
        }
        if nr > i32::MAX as u32 {
            return None;
        }
        match self {
            Arch::X86_64 => name!(x86_64),
            Arch::X86 => name!(x86),
            Arch::Aarch64 => name!(aarch64),
            Arch::Arm => name!(arm),
            Arch::Riscv64 => name!(riscv64),
            Arch::Riscv32 => name!(riscv32),
            Arch::Loongarch64 => name!(loongarch64),
            Arch::S390x => name!(s390x),
            Arch::Ppc64le | Arch::Ppc64 => name!(powerpc64),
            Arch::Ppc => name!(powerpc),
            Arch::Mips | Arch::Mipsel => name!(mips),
            Arch::Mips64 | Arch::Mipsel64 => name!(mips64),
            Arch::Sparc => name!(sparc),
            Arch::Sparc64 => name!(sparc64),
        }
    }

    /// Every syscall of the architecture as `(number, name)`, in ascending order.
    pub fn syscalls(self) -> impl Iterator<Item = (u32, &'static str)> {
        let (first, last) = self.syscall_range();
        (first..=last).filter_map(move |nr| self.syscall_name(nr).map(|n| (nr, n)))
    }

    /// The lowest and highest syscall numbers in the table.
    pub const fn syscall_range(self) -> (u32, u32) {
        macro_rules! range {
            ($m:ident) => {
                (
                    syscalls::$m::Sysno::first().id() as u32,
                    syscalls::$m::Sysno::last().id() as u32,
                )
            };
        }
        match self {
            Arch::X86_64 => range!(x86_64),
            Arch::X86 => range!(x86),
            Arch::Aarch64 => range!(aarch64),
            Arch::Arm => range!(arm),
            Arch::Riscv64 => range!(riscv64),
            Arch::Riscv32 => range!(riscv32),
            Arch::Loongarch64 => range!(loongarch64),
            Arch::S390x => range!(s390x),
            Arch::Ppc64le | Arch::Ppc64 => range!(powerpc64),
            Arch::Ppc => range!(powerpc),
            Arch::Mips | Arch::Mipsel => range!(mips),
            Arch::Mips64 | Arch::Mipsel64 => range!(mips64),
            Arch::Sparc => range!(sparc),
            Arch::Sparc64 => range!(sparc64),
        }
    }
}

/// Byte-wise string equality usable in `const` contexts.
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_tables_come_from_the_syscalls_crate() {
        assert_eq!(Arch::X86_64.syscall_nr("read"), Some(0));
        assert_eq!(Arch::X86_64.syscall_nr("seccomp"), Some(317));
        assert_eq!(Arch::X86.syscall_nr("seccomp"), Some(354));
        assert_eq!(Arch::Aarch64.syscall_nr("seccomp"), Some(277));
        assert_eq!(Arch::Arm.syscall_nr("seccomp"), Some(383));
        assert_eq!(Arch::X86_64.syscall_nr("no_such_call"), None);
        assert_eq!(Arch::X86_64.syscall_name(60), Some("exit"));
        const OPENAT: Option<u32> = Arch::X86_64.syscall_nr("openat");
        assert_eq!(OPENAT, Some(257));
        assert!(Arch::X86_64.syscalls().count() > 300);
    }

    #[test]
    fn arch_names_and_audit_values_round_trip() {
        for a in Arch::ALL {
            assert_eq!(Arch::from_name(a.name()), Some(a));
            assert_eq!(Arch::from_audit(a.audit_arch()), Some(a));
        }
        assert_eq!(Arch::from_name("SCMP_ARCH_X86_64"), Some(Arch::X86_64));
        assert_eq!(Arch::from_name("i386"), Some(Arch::X86));
        assert_eq!(Arch::S390x.endian(), Endian::Big);
        assert!(!Arch::X86.is_64bit());
    }

    #[test]
    fn arg_offsets_follow_endianness() {
        assert_eq!(arg_offset(0, Half::Low, Endian::Little), Some(16));
        assert_eq!(arg_offset(0, Half::High, Endian::Little), Some(20));
        assert_eq!(arg_offset(0, Half::Low, Endian::Big), Some(20));
        assert_eq!(arg_offset(5, Half::High, Endian::Big), Some(56));
        assert_eq!(arg_offset(6, Half::Low, Endian::Big), None);
        assert_eq!(ip_offset(Half::Low, Endian::Little), 8);
    }
}
