//! The text assembler for the kernel's `bpf_asm` language
//! (`tools/bpf/bpf_exp.{l,y}`), usable without an allocator and in `const`
//! context.
//!
//! Every source the kernel's `bpf_asm` accepts assembles to the same
//! instructions here (tokens are cut exactly like flex cuts them, so even
//! odd spellings such as `ld #lenab: ret #0` mean the same), except where the
//! kernel tool is sloppy, which are errors here:
//!
//! * a label defined twice (the kernel silently takes the first);
//! * `ja`/`jmp` to a label that is not after it (the kernel wraps `k` around);
//! * numbers outside `-2147483648..=4294967295` (the kernel truncates them);
//! * `ldxb` literals other than `4*([k]&0xf)`, and more than 4096
//!   instructions (the kernel prints a message but exits with status 0).
//!
//! Errors carry a line and column ([`AsmError`]).
//!
//! # The language
//!
//! Mnemonics and the tokens `x`, `a`, `M` are case-insensitive; labels are
//! not. Comments: `/* ... */`, `;` to the end of the line, and lines starting
//! with `#` (unless the whole line is a keyword such as `#len`). Numbers:
//! `0x1f`, `0b101`, `017` (octal), `42`, `-1` (stored as `0xffffffff`).
//! Labels have two or more characters `[A-Za-z_][A-Za-z0-9_]*`; one label
//! (`name:`) may precede each instruction. Newlines carry no meaning.
//!
//! | Form | Instruction |
//! |---|---|
//! | `ld #k`, `ldi #k`, `ldi k` / `ldx #k`, `ldxi #k`, `ldxi k` | `A = k` / `X = k` |
//! | `ld [k]`, `ldh [k]`, `ldb [k]` | `A = data[k]` (32/16/8 bits) |
//! | `ld [x+k]`, `ldh [x + k]`, `ldb [%x+k]` | `A = data[X+k]` |
//! | `ld #len`, `ldx #len` (`#` optional) | packet length |
//! | `ld #proto` … (`#` optional; also `ldh`, `ldb`) | ancillary load `SKF_AD_OFF + ext` |
//! | `ld M[k]`, `ldx M[k]`, `st M[k]`, `stx M[k]` | scratch memory |
//! | `ldx 4*([k]&0xf)`, `ldxb 4*([k]&0xf)` | `X = 4 * (data[k] & 0xf)` |
//! | `add sub mul div mod and or xor lsh rsh` with `#k` or `x`/`%x`; `neg` | ALU |
//! | `jmp L`, `ja L` | jump forward to `L` |
//! | `jeq jgt jge jset` `#k\|x, Lt[, Lf]` | without `Lf` a false condition falls through |
//! | `jne`/`jneq` `#k\|x, Lf`; `jlt #k\|x, Lf`; `jle #k\|x, Lf` | `jeq`, `jge`, `jgt` that jump when false |
//! | `ret #k`, `ret a`, `ret x` (also `%a`, `%x`) | return |
//! | `tax`, `txa` | register moves |
//!
//! Extensions: `len`, `proto`, `type`, `poff`, `ifidx`, `nla`, `nlan`,
//! `mark`, `queue`, `hatype`, `rxhash`, `cpu`, `vlan_tci`, `vlan_pr`,
//! `vlan_avail`, `vlan_tpid`, `rand`.
//!
//! # The superset
//!
//! Additions that the kernel's `bpf_asm` rejects, so they never change the
//! meaning of a source it accepts:
//!
//! * `[x+1]`, `[x-1]`, `[%x+1]`: an offset after `x` without a space (the
//!   kernel lexes `+1` as a number and fails).
//! * `seccomp_data` fields inside brackets, for `ld`, `ldh`, `ldb`:
//!   `[nr]`, `[arch]`, `[ip]` (= `[ip_lo]`), `[ip_hi]`, `[arg0]` … `[arg5]`
//!   (= `[argN_lo]`, the low 32 bits) and `[arg0_hi]` … `[arg5_hi]`. The
//!   offsets of the 64-bit words follow [`AsmOptions::endian`].
//! * Symbolic values wherever `#k` is accepted (and bare after `ret`,
//!   `ldi`, `ldxi`):
//!   * `AUDIT_ARCH_X86_64` and every other name of
//!     [`AUDIT_ARCH_NAMES`](crate::seccomp::AUDIT_ARCH_NAMES);
//!   * `__NR_openat`: the syscall number on [`AsmOptions::arch`];
//!   * return actions, with or without `SECCOMP_RET_`: `ALLOW`,
//!     `KILL_PROCESS`, `KILL_THREAD`, `KILL`, `LOG`, `USER_NOTIF`, and
//!     `TRAP`, `ERRNO`, `TRACE` with an optional value in parentheses
//!     (`ERRNO(13)`, `ERRNO(EPERM)`, `TRAP(0x10)`; at most 65535).
//!
//!   Action and `AUDIT_ARCH_*` names are case-insensitive, so
//!   `ret #errno(eacces)` works.
//! * `.insn CODE, JT, JF, K`: any 8-byte instruction, verbatim.
//! * A carriage return counts as white space (CRLF files).
//!
//! # Examples
//!
//! ```
//! use bpf_asm::text::{assemble_into, AsmOptions};
//! use bpf_asm::SockFilter;
//!
//! let src = "
//!     ld [arch]
//!     jne #AUDIT_ARCH_X86_64, kill
//!     ld [nr]
//!     jeq #__NR_openat, deny
//!     ret ALLOW
//! deny: ret ERRNO(EACCES)
//! kill: ret KILL_PROCESS
//! ";
//! let mut prog = [SockFilter::default(); 16];
//! let n = assemble_into(src, &AsmOptions::for_arch(bpf_asm::Arch::X86_64), &mut prog).unwrap();
//! assert_eq!(n, 7);
//! assert_eq!(prog[3], SockFilter::jump(0x15, 257, 1, 0));
//! assert_eq!(prog[5], SockFilter::stmt(0x06, 0x0005_000d));
//! ```
//!
//! At compile time, with [`bpf_program!`](crate::bpf_program), into a
//! `&'static [SockFilter]` whose length the compiler infers:
//!
//! ```
//! use bpf_asm::SockFilter;
//!
//! static FILTER: &[SockFilter] = &bpf_asm::bpf_program!(
//!     arch = X86_64,
//!     "ld [nr]
//!      jeq #__NR_ptrace, deny
//!      ret ALLOW
//!      deny: ret ERRNO(EPERM)"
//! );
//! assert_eq!(FILTER.len(), 4);
//! assert_eq!(FILTER[3].k, 0x0005_0001);
//! ```
//!
//! An assembly error is a compile error:
//!
//! ```compile_fail
//! static BAD: &[bpf_asm::SockFilter] = &bpf_asm::bpf_program!("ja nowhere");
//! ```

mod assemble;
mod error;
mod lex;
mod parse;
mod symbols;

pub use error::{AsmError, AsmErrorKind, Name};

use crate::insn::SockFilter;
use crate::seccomp::{Arch, Endian};

/// What the seccomp conveniences of the superset resolve against.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AsmOptions {
    /// Architecture for `__NR_*` syscall names and errno names.
    pub arch: Arch,
    /// Byte order for the 64-bit `seccomp_data` words (`[arg0]`, `[ip_hi]`, …).
    pub endian: Endian,
}

impl AsmOptions {
    /// The host architecture (x86-64 when the host is not a known one), with
    /// its byte order.
    pub const DEFAULT: AsmOptions = AsmOptions::for_arch(match Arch::host() {
        Some(a) => a,
        None => Arch::X86_64,
    });

    /// Options for `arch`, with its byte order.
    pub const fn for_arch(arch: Arch) -> AsmOptions {
        AsmOptions {
            arch,
            endian: arch.endian(),
        }
    }
}

impl Default for AsmOptions {
    fn default() -> Self {
        AsmOptions::DEFAULT
    }
}

/// Assembles `src` into `out` and returns the number of instructions.
///
/// Needs no allocator and works in `const` context (it keeps a 16 KiB label
/// table on the stack). `out` must hold at least [`count_insns`]
/// instructions, else [`AsmErrorKind::OutputTooSmall`]. On success
/// `out[..n]` holds the program and later slots are untouched; on error the
/// first slots of `out` hold unspecified values.
pub const fn assemble_into(
    src: &str,
    opts: &AsmOptions,
    out: &mut [SockFilter],
) -> Result<usize, AsmError> {
    match assemble::assemble(src.as_bytes(), opts, out) {
        Ok(n) => Ok(n),
        Err(f) => Err(f.locate(src.as_bytes())),
    }
}

/// The number of instructions in `src`, checking its syntax (labels and
/// architecture-dependent names are checked by [`assemble_into`]).
pub const fn count_insns(src: &str) -> Result<usize, AsmError> {
    match assemble::count(src.as_bytes()) {
        Ok(n) => Ok(n),
        Err(f) => Err(f.locate(src.as_bytes())),
    }
}

/// Assembles `src` into a new vector.
#[cfg(feature = "alloc")]
pub fn assemble(src: &str, opts: &AsmOptions) -> Result<alloc::vec::Vec<SockFilter>, AsmError> {
    let n = count_insns(src)?;
    let mut out = alloc::vec![SockFilter::default(); n];
    let n = assemble_into(src, opts, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// Assembles `bpf_asm` text at compile time into a `[SockFilter; N]`.
///
/// Borrow it to get a `&'static [SockFilter]` without counting
/// instructions: `static FILTER: &[SockFilter] = &bpf_program!("...");`
/// (a `const` works the same way; `N` is inferred).
///
/// Forms: `bpf_program!("text")` (options [`AsmOptions::DEFAULT`]),
/// `bpf_program!(arch = X86_64, "text")` (an [`Arch`] variant, with its byte
/// order) and `bpf_program!(options = EXPR, "text")` (a constant
/// [`AsmOptions`] expression). The text may be any constant `&str`
/// expression, such as `include_str!` or `concat!`. An assembly error stops
/// compilation with the message `bpf_asm error at LINE:COLUMN: ...`.
///
/// See the [`text`](crate::text) module for the language.
#[macro_export]
macro_rules! bpf_program {
    (arch = $arch:ident, $src:expr $(,)?) => {
        $crate::bpf_program!(
            options = $crate::text::AsmOptions::for_arch($crate::Arch::$arch),
            $src
        )
    };
    (options = $opts:expr, $src:expr $(,)?) => {{
        const __BPF_SRC: &str = $src;
        const __BPF_OPTS: $crate::text::AsmOptions = $opts;
        #[allow(long_running_const_eval)]
        const __BPF_FULL: ([$crate::SockFilter; $crate::BPF_MAXINSNS], usize) = {
            let mut out = [$crate::SockFilter::stmt(0, 0); $crate::BPF_MAXINSNS];
            match $crate::text::assemble_into(__BPF_SRC, &__BPF_OPTS, &mut out) {
                Ok(n) => (out, n),
                Err(e) => e.const_panic(),
            }
        };
        const __BPF_N: usize = __BPF_FULL.1;
        const __BPF_PROG: [$crate::SockFilter; __BPF_N] = {
            let full = __BPF_FULL.0;
            let mut out = [$crate::SockFilter::stmt(0, 0); __BPF_N];
            let mut i = 0;
            while i < __BPF_N {
                out[i] = full[i];
                i += 1;
            }
            out
        };
        __BPF_PROG
    }};
    ($src:expr $(,)?) => {
        $crate::bpf_program!(options = $crate::text::AsmOptions::DEFAULT, $src)
    };
}
