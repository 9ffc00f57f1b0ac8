//! Seccomp actions as policies name them, and their 32-bit return values.

use core::fmt;

use crate::seccomp::*;

/// What the kernel does with a syscall.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Action {
    /// `allow`: run the syscall.
    Allow,
    /// `log`: run it and log it.
    Log,
    /// `kill_process`: kill the whole process with SIGSYS.
    KillProcess,
    /// `kill_thread`: kill the calling thread with SIGSYS.
    KillThread,
    /// `trap(N)`: send SIGSYS with `si_errno = N`.
    Trap(u16),
    /// `errno(N)`: fail the syscall with errno N (the kernel caps it at 4095).
    Errno(u16),
    /// `trace(N)`: notify a ptrace tracer with event data N.
    Trace(u16),
    /// `user_notif`: ask the user-space listener.
    UserNotif,
}

impl Action {
    /// The filter return value (`SECCOMP_RET_* | data`).
    pub const fn to_ret(self) -> u32 {
        match self {
            Action::Allow => SECCOMP_RET_ALLOW,
            Action::Log => SECCOMP_RET_LOG,
            Action::KillProcess => SECCOMP_RET_KILL_PROCESS,
            Action::KillThread => SECCOMP_RET_KILL_THREAD,
            Action::Trap(d) => SECCOMP_RET_TRAP | d as u32,
            Action::Errno(d) => SECCOMP_RET_ERRNO | d as u32,
            Action::Trace(d) => SECCOMP_RET_TRACE | d as u32,
            Action::UserNotif => SECCOMP_RET_USER_NOTIF,
        }
    }

    /// Reads a return value exactly (data bits included); `None` for values
    /// no policy action produces (unknown actions, data on allow/log/kill).
    pub const fn from_ret(ret: u32) -> Option<Action> {
        let data = (ret & SECCOMP_RET_DATA) as u16;
        Some(match ret & SECCOMP_RET_ACTION_FULL {
            SECCOMP_RET_ALLOW if data == 0 => Action::Allow,
            SECCOMP_RET_LOG if data == 0 => Action::Log,
            SECCOMP_RET_KILL_PROCESS if data == 0 => Action::KillProcess,
            SECCOMP_RET_KILL_THREAD if data == 0 => Action::KillThread,
            SECCOMP_RET_TRAP => Action::Trap(data),
            SECCOMP_RET_ERRNO => Action::Errno(data),
            SECCOMP_RET_TRACE => Action::Trace(data),
            SECCOMP_RET_USER_NOTIF if data == 0 => Action::UserNotif,
            _ => return None,
        })
    }

    /// Parses `allow`, `log`, `kill_process`, `kill_thread` (also `kill`),
    /// `trap`, `trap(N)`, `errno(N)`, `errno(NAME)`, `trace(N)`,
    /// `user_notif`. Case-insensitive; N is decimal or `0x` hex and must fit in
    /// 16 bits.
    pub fn parse(s: &str) -> Result<Action, ActionError> {
        let s = s.trim();
        let (head, arg) = match s.find('(') {
            Some(open) => {
                let Some(inner) = s[open + 1..].strip_suffix(')') else {
                    return Err(ActionError::Syntax);
                };
                (s[..open].trim(), Some(inner.trim()))
            }
            None => (s, None),
        };
        let lower = |h: &str, w: &str| h.eq_ignore_ascii_case(w);
        let num = |a: Option<&str>, names: bool| -> Result<u16, ActionError> {
            let a = a.ok_or(ActionError::MissingData)?;
            if let Some(v) = parse_u16(a) {
                return Ok(v);
            }
            if names {
                if let Some(v) = errno_from_name(a) {
                    return Ok(v);
                }
                return Err(ActionError::UnknownErrno);
            }
            Err(ActionError::BadData)
        };
        let no_arg = |a: Option<&str>, act: Action| match a {
            None => Ok(act),
            Some(_) => Err(ActionError::UnexpectedData),
        };
        if lower(head, "allow") {
            no_arg(arg, Action::Allow)
        } else if lower(head, "log") {
            no_arg(arg, Action::Log)
        } else if lower(head, "kill_process") {
            no_arg(arg, Action::KillProcess)
        } else if lower(head, "kill_thread") || lower(head, "kill") {
            no_arg(arg, Action::KillThread)
        } else if lower(head, "user_notif") {
            no_arg(arg, Action::UserNotif)
        } else if lower(head, "trap") {
            match arg {
                None => Ok(Action::Trap(0)),
                Some(_) => num(arg, false).map(Action::Trap),
            }
        } else if lower(head, "errno") {
            num(arg, true).map(Action::Errno)
        } else if lower(head, "trace") {
            num(arg, false).map(Action::Trace)
        } else {
            Err(ActionError::UnknownAction)
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Action::Allow => f.write_str("allow"),
            Action::Log => f.write_str("log"),
            Action::KillProcess => f.write_str("kill_process"),
            Action::KillThread => f.write_str("kill_thread"),
            Action::UserNotif => f.write_str("user_notif"),
            Action::Trap(d) => write!(f, "trap({d})"),
            Action::Trace(d) => write!(f, "trace({d})"),
            Action::Errno(d) => match errno_name(d) {
                Some(n) => write!(f, "errno({n})"),
                None => write!(f, "errno({d})"),
            },
        }
    }
}

/// Why an action string did not parse.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ActionError {
    /// Not one of the action names.
    UnknownAction,
    /// Unbalanced or misplaced parentheses.
    Syntax,
    /// `errno`/`trace` without a value.
    MissingData,
    /// A value where the action takes none.
    UnexpectedData,
    /// The value is not a number that fits in 16 bits.
    BadData,
    /// `errno(NAME)` with an unknown name.
    UnknownErrno,
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActionError::UnknownAction => "unknown action (expected allow, log, kill_process, kill_thread, trap, trap(N), errno(N|NAME), trace(N) or user_notif)",
            ActionError::Syntax => "malformed action: expected NAME or NAME(VALUE)",
            ActionError::MissingData => "this action needs a value in parentheses, e.g. errno(EPERM)",
            ActionError::UnexpectedData => "this action takes no value",
            ActionError::BadData => "the value must be a number from 0 to 65535",
            ActionError::UnknownErrno => "unknown errno name",
        })
    }
}

fn parse_u16(s: &str) -> Option<u16> {
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()?
    } else {
        s.parse::<u32>().ok()?
    };
    u16::try_from(v).ok()
}

/// The errno value of a name such as `EPERM` (generic Linux numbering, from
/// the `syscalls` crate).
pub fn errno_from_name(name: &str) -> Option<u16> {
    (1..4096u16).find(|&n| {
        syscalls::Errno::new(n as i32)
            .name()
            .is_some_and(|e| e.eq_ignore_ascii_case(name))
    })
}

/// The name of an errno value (`1` → `EPERM`), if it has one.
pub fn errno_name(n: u16) -> Option<&'static str> {
    if n == 0 {
        return None;
    }
    syscalls::Errno::new(n as i32).name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn parse_and_display_round_trip() {
        for s in [
            "allow",
            "log",
            "kill_process",
            "kill_thread",
            "trap(3)",
            "errno(EPERM)",
            "trace(7)",
            "user_notif",
            "errno(4095)",
        ] {
            let a = Action::parse(s).unwrap();
            assert_eq!(Action::parse(&a.to_string()).unwrap(), a, "{s}");
            assert_eq!(Action::from_ret(a.to_ret()), Some(a));
        }
        assert_eq!(Action::parse("errno(EPERM)"), Ok(Action::Errno(1)));
        assert_eq!(Action::parse("ERRNO(0x26)"), Ok(Action::Errno(38)));
        assert_eq!(Action::parse("trap"), Ok(Action::Trap(0)));
        assert_eq!(Action::parse("errno"), Err(ActionError::MissingData));
        assert_eq!(Action::parse("allow(1)"), Err(ActionError::UnexpectedData));
        assert_eq!(
            Action::parse("errno(ENOPE)"),
            Err(ActionError::UnknownErrno)
        );
        assert_eq!(
            Action::parse("errno(70000)"),
            Err(ActionError::UnknownErrno)
        );
        assert_eq!(Action::parse("deny"), Err(ActionError::UnknownAction));
        assert_eq!(Action::from_ret(0x7fff_0001), None);
    }
}
