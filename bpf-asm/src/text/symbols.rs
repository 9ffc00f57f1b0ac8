//! Seccomp conveniences of the superset: `seccomp_data` field names,
//! `AUDIT_ARCH_*` and `__NR_*` constants, return actions and errno names.

use super::error::{AsmErrorKind as Kind, Name};
use super::lex::eq_ci;
use crate::seccomp::{self, Endian, Half, AUDIT_ARCH_NAMES};
use crate::Arch;

/// Offset of a `seccomp_data` field written by name inside brackets
/// (`nr`, `arch`, `ip[_lo|_hi]`, `argN[_lo|_hi]`), case-insensitive.
pub(crate) const fn field_offset(
    src: &[u8],
    start: usize,
    end: usize,
    endian: Endian,
) -> Option<u32> {
    if eq_ci(src, start, end, "nr") {
        return Some(seccomp::SECCOMP_DATA_NR);
    }
    if eq_ci(src, start, end, "arch") {
        return Some(seccomp::SECCOMP_DATA_ARCH);
    }
    let (base, half) = split_half(src, start, end);
    if eq_ci(src, start, base, "ip") {
        return Some(seccomp::ip_offset(half, endian));
    }
    if base - start == 4 && eq_ci(src, start, start + 3, "arg") {
        let d = src[start + 3];
        if d >= b'0' && d <= b'5' {
            return seccomp::arg_offset((d - b'0') as u32, half, endian);
        }
    }
    None
}

/// Splits an optional `_lo` / `_hi` suffix off a field name.
const fn split_half(src: &[u8], start: usize, end: usize) -> (usize, Half) {
    if end - start > 3 {
        if eq_ci(src, end - 3, end, "_hi") {
            return (end - 3, Half::High);
        }
        if eq_ci(src, end - 3, end, "_lo") {
            return (end - 3, Half::Low);
        }
    }
    (end, Half::Low)
}

/// A return action name and whether it takes a value in parentheses.
#[derive(Clone, Copy)]
pub(crate) struct ActionName {
    pub base: u32,
    pub takes_data: bool,
    pub is_errno: bool,
}

const ACTIONS: [(&str, u32, bool); 9] = [
    ("allow", seccomp::SECCOMP_RET_ALLOW, false),
    ("kill_process", seccomp::SECCOMP_RET_KILL_PROCESS, false),
    ("kill_thread", seccomp::SECCOMP_RET_KILL_THREAD, false),
    ("kill", seccomp::SECCOMP_RET_KILL, false),
    ("log", seccomp::SECCOMP_RET_LOG, false),
    ("user_notif", seccomp::SECCOMP_RET_USER_NOTIF, false),
    ("trap", seccomp::SECCOMP_RET_TRAP, true),
    ("errno", seccomp::SECCOMP_RET_ERRNO, true),
    ("trace", seccomp::SECCOMP_RET_TRACE, true),
];

/// A return action written by name (case-insensitive, optional
/// `SECCOMP_RET_` prefix).
pub(crate) const fn action(src: &[u8], mut start: usize, end: usize) -> Option<ActionName> {
    if end - start > 12 && eq_ci(src, start, start + 12, "seccomp_ret_") {
        start += 12;
    }
    let mut i = 0;
    while i < ACTIONS.len() {
        let (w, base, takes_data) = ACTIONS[i];
        if eq_ci(src, start, end, w) {
            return Some(ActionName {
                base,
                takes_data,
                is_errno: base == seccomp::SECCOMP_RET_ERRNO,
            });
        }
        i += 1;
    }
    None
}

/// Whether `src[start..end]` equals `word` exactly (case-sensitive).
const fn eq_cs(src: &[u8], start: usize, end: usize, word: &str) -> bool {
    let w = word.as_bytes();
    if end - start != w.len() {
        return false;
    }
    let mut i = 0;
    while i < w.len() {
        if src[start + i] != w[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The value of a symbolic constant: `AUDIT_ARCH_*` (case-insensitive) or
/// `__NR_<syscall>` resolved for `arch` (syscall names are case-sensitive).
/// With `arch` `None` (counting only), names that need an architecture are
/// accepted unresolved as 0.
pub(crate) const fn constant(
    src: &[u8],
    start: usize,
    end: usize,
    arch: Option<Arch>,
) -> Result<u32, Kind> {
    let mut i = 0;
    while i < AUDIT_ARCH_NAMES.len() {
        let (n, v) = AUDIT_ARCH_NAMES[i];
        if n.len() == end - start && ci_eq_upper(src, start, n) {
            return Ok(v);
        }
        i += 1;
    }
    if end - start > 5 && eq_cs(src, start, start + 5, "__NR_") {
        let arch = match arch {
            Some(a) => a,
            None => return Ok(0),
        };
        let (_, name_bytes) = src.split_at(start + 5);
        let (name_bytes, _) = name_bytes.split_at(end - start - 5);
        let name = match core::str::from_utf8(name_bytes) {
            Ok(s) => s,
            Err(_) => "",
        };
        return match arch.syscall_nr(name) {
            Some(nr) => Ok(nr),
            None => Err(Kind::UnknownSyscall {
                name: Name::new(src, start + 5, end),
                arch,
            }),
        };
    }
    Err(Kind::UnknownName(Name::new(src, start, end)))
}

/// Case-insensitive comparison with an upper-case table name.
const fn ci_eq_upper(src: &[u8], start: usize, upper: &str) -> bool {
    let u = upper.as_bytes();
    let mut i = 0;
    while i < u.len() {
        if src[start + i].to_ascii_uppercase() != u[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The number of an errno name (generic Linux numbering). Architectures with
/// their own numbering (MIPS, SPARC) accept only the names 1..=34 that all
/// Linux architectures share. With `arch` `None` any well-formed name passes
/// as 0.
pub(crate) const fn errno(
    src: &[u8],
    start: usize,
    end: usize,
    arch: Option<Arch>,
) -> Result<u32, Kind> {
    let arch = match arch {
        Some(a) => a,
        None => return Ok(0),
    };
    let own_numbering = matches!(
        arch,
        Arch::Mips | Arch::Mipsel | Arch::Mips64 | Arch::Mipsel64 | Arch::Sparc | Arch::Sparc64
    );
    let mut i = 0;
    while i < ERRNO_NAMES.len() {
        let (n, v) = ERRNO_NAMES[i];
        if n.len() == end - start && ci_eq_upper(src, start, n) {
            if own_numbering && v > 34 {
                break;
            }
            return Ok(v);
        }
        i += 1;
    }
    Err(Kind::UnknownErrno(Name::new(src, start, end)))
}

/// Errno names with their generic Linux numbers, as the `syscalls` crate
/// lists them (a test checks the two agree; `syscalls` has no `const`
/// lookup).
pub(crate) const ERRNO_NAMES: [(&str, u32); 150] = [
    ("EPERM", 1),
    ("ENOENT", 2),
    ("ESRCH", 3),
    ("EINTR", 4),
    ("EIO", 5),
    ("ENXIO", 6),
    ("E2BIG", 7),
    ("ENOEXEC", 8),
    ("EBADF", 9),
    ("ECHILD", 10),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("ENOTBLK", 15),
    ("EBUSY", 16),
    ("EEXIST", 17),
    ("EXDEV", 18),
    ("ENODEV", 19),
    ("ENOTDIR", 20),
    ("EISDIR", 21),
    ("EINVAL", 22),
    ("ENFILE", 23),
    ("EMFILE", 24),
    ("ENOTTY", 25),
    ("ETXTBSY", 26),
    ("EFBIG", 27),
    ("ENOSPC", 28),
    ("ESPIPE", 29),
    ("EROFS", 30),
    ("EMLINK", 31),
    ("EPIPE", 32),
    ("EDOM", 33),
    ("ERANGE", 34),
    ("EDEADLK", 35),
    ("ENAMETOOLONG", 36),
    ("ENOLCK", 37),
    ("ENOSYS", 38),
    ("ENOTEMPTY", 39),
    ("ELOOP", 40),
    ("ENOMSG", 42),
    ("EIDRM", 43),
    ("ECHRNG", 44),
    ("EL2NSYNC", 45),
    ("EL3HLT", 46),
    ("EL3RST", 47),
    ("ELNRNG", 48),
    ("EUNATCH", 49),
    ("ENOCSI", 50),
    ("EL2HLT", 51),
    ("EBADE", 52),
    ("EBADR", 53),
    ("EXFULL", 54),
    ("ENOANO", 55),
    ("EBADRQC", 56),
    ("EBADSLT", 57),
    ("EBFONT", 59),
    ("ENOSTR", 60),
    ("ENODATA", 61),
    ("ETIME", 62),
    ("ENOSR", 63),
    ("ENONET", 64),
    ("ENOPKG", 65),
    ("EREMOTE", 66),
    ("ENOLINK", 67),
    ("EADV", 68),
    ("ESRMNT", 69),
    ("ECOMM", 70),
    ("EPROTO", 71),
    ("EMULTIHOP", 72),
    ("EDOTDOT", 73),
    ("EBADMSG", 74),
    ("EOVERFLOW", 75),
    ("ENOTUNIQ", 76),
    ("EBADFD", 77),
    ("EREMCHG", 78),
    ("ELIBACC", 79),
    ("ELIBBAD", 80),
    ("ELIBSCN", 81),
    ("ELIBMAX", 82),
    ("ELIBEXEC", 83),
    ("EILSEQ", 84),
    ("ERESTART", 85),
    ("ESTRPIPE", 86),
    ("EUSERS", 87),
    ("ENOTSOCK", 88),
    ("EDESTADDRREQ", 89),
    ("EMSGSIZE", 90),
    ("EPROTOTYPE", 91),
    ("ENOPROTOOPT", 92),
    ("EPROTONOSUPPORT", 93),
    ("ESOCKTNOSUPPORT", 94),
    ("EOPNOTSUPP", 95),
    ("EPFNOSUPPORT", 96),
    ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98),
    ("EADDRNOTAVAIL", 99),
    ("ENETDOWN", 100),
    ("ENETUNREACH", 101),
    ("ENETRESET", 102),
    ("ECONNABORTED", 103),
    ("ECONNRESET", 104),
    ("ENOBUFS", 105),
    ("EISCONN", 106),
    ("ENOTCONN", 107),
    ("ESHUTDOWN", 108),
    ("ETOOMANYREFS", 109),
    ("ETIMEDOUT", 110),
    ("ECONNREFUSED", 111),
    ("EHOSTDOWN", 112),
    ("EHOSTUNREACH", 113),
    ("EALREADY", 114),
    ("EINPROGRESS", 115),
    ("ESTALE", 116),
    ("EUCLEAN", 117),
    ("ENOTNAM", 118),
    ("ENAVAIL", 119),
    ("EISNAM", 120),
    ("EREMOTEIO", 121),
    ("EDQUOT", 122),
    ("ENOMEDIUM", 123),
    ("EMEDIUMTYPE", 124),
    ("ECANCELED", 125),
    ("ENOKEY", 126),
    ("EKEYEXPIRED", 127),
    ("EKEYREVOKED", 128),
    ("EKEYREJECTED", 129),
    ("EOWNERDEAD", 130),
    ("ENOTRECOVERABLE", 131),
    ("ERFKILL", 132),
    ("EHWPOISON", 133),
    ("ERESTARTSYS", 512),
    ("ERESTARTNOINTR", 513),
    ("ERESTARTNOHAND", 514),
    ("ENOIOCTLCMD", 515),
    ("ERESTART_RESTARTBLOCK", 516),
    ("EPROBE_DEFER", 517),
    ("EOPENSTALE", 518),
    ("ENOPARAM", 519),
    ("EBADHANDLE", 521),
    ("ENOTSYNC", 522),
    ("EBADCOOKIE", 523),
    ("ENOTSUPP", 524),
    ("ETOOSMALL", 525),
    ("ESERVERFAULT", 526),
    ("EBADTYPE", 527),
    ("EJUKEBOX", 528),
    ("EIOCBQUEUED", 529),
    ("ERECALLCONFLICT", 530),
    ("ENOGRACE", 531),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_table_agrees_with_the_syscalls_crate() {
        let mut listed = 0;
        for n in 1..4096 {
            if let Some(name) = syscalls::Errno::new(n).name() {
                listed += 1;
                let found = ERRNO_NAMES.iter().find(|(e, _)| *e == name);
                assert_eq!(found.map(|(_, v)| *v), Some(n as u32), "{name}");
            }
        }
        assert_eq!(listed, ERRNO_NAMES.len());
        for (name, v) in ERRNO_NAMES {
            assert_eq!(syscalls::Errno::new(v as i32).name(), Some(name));
        }
    }

    #[test]
    fn field_names_map_to_seccomp_data_offsets() {
        let off = |s: &str, e| field_offset(s.as_bytes(), 0, s.len(), e);
        assert_eq!(off("nr", Endian::Little), Some(0));
        assert_eq!(off("ARCH", Endian::Big), Some(4));
        assert_eq!(off("ip_hi", Endian::Little), Some(12));
        assert_eq!(off("arg3_lo", Endian::Big), Some(44));
        for bad in ["ip_", "arg", "arg6", "arg0_x", "args0", "_hi", "nr_hi"] {
            assert_eq!(off(bad, Endian::Little), None, "{bad}");
        }
    }
}
