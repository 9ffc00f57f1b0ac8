//! Finding the command as `execvp` does, before the fork.
//!
//! glibc's `execvp`: a name containing `/` is used as it is; any other name
//! is tried in each directory of `PATH` in order (an empty entry is the
//! current directory; without `PATH`, `/bin:/usr/bin`). A candidate that
//! does not exist (or whose directory does not) is skipped; one that exists
//! but cannot be executed (no execute permission for the effective ids, a
//! directory, a `noexec` mount) is skipped too, but remembered: if nothing
//! executable is found, the error is "permission denied" rather than "not
//! found". The launcher then execs the file found exactly once, and on
//! `ENOEXEC` retries with `/bin/sh`, as `execvp` does.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// `execvp`'s search path when `PATH` is unset (glibc's `_CS_PATH`).
pub const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// Why no executable file was found.
#[derive(Debug, PartialEq, Eq)]
pub enum NotFound {
    /// The name is empty.
    Empty,
    /// No candidate exists (`ENOENT`; exit status 127).
    Missing,
    /// A candidate exists but cannot be executed (`EACCES`; exit status
    /// 126): the first such file.
    NotExecutable(PathBuf),
    /// The name contains a NUL byte.
    Nul,
}

/// The file `execvp(name)` would execute, given the value of `PATH`.
pub fn find(name: &OsStr, path_var: Option<&OsStr>) -> Result<PathBuf, NotFound> {
    if name.is_empty() {
        return Err(NotFound::Empty);
    }
    if name.as_bytes().contains(&0) {
        return Err(NotFound::Nul);
    }
    if name.as_bytes().contains(&b'/') {
        let p = PathBuf::from(name);
        return match probe(&p) {
            Probe::Executable => Ok(p),
            Probe::Denied => Err(NotFound::NotExecutable(p)),
            Probe::Missing => Err(NotFound::Missing),
        };
    }
    let search: OsString = path_var.map_or_else(|| DEFAULT_PATH.into(), OsStr::to_os_string);
    let mut denied = None;
    for dir in search.as_bytes().split(|&b| b == b':') {
        let candidate = if dir.is_empty() {
            PathBuf::from(name)
        } else {
            PathBuf::from(OsStr::from_bytes(dir)).join(name)
        };
        match probe(&candidate) {
            Probe::Executable => return Ok(candidate),
            Probe::Denied => {
                denied.get_or_insert(candidate);
            }
            Probe::Missing => {}
        }
    }
    Err(denied.map_or(NotFound::Missing, NotFound::NotExecutable))
}

enum Probe {
    Executable,
    Denied,
    Missing,
}

/// What `execve` would say about `p` as far as the file system tells:
/// missing, not executable for the effective ids (the check `execve` makes,
/// `noexec` mounts included), or worth trying.
fn probe(p: &std::path::Path) -> Probe {
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Probe::Denied,
        Err(_) => return Probe::Missing,
    };
    if !meta.is_file() {
        return Probe::Denied;
    }
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
        return Probe::Missing;
    };
    // SAFETY: `c` is a NUL-terminated path; faccessat only reads it.
    let r = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::X_OK, libc::AT_EACCESS) };
    if r == 0 {
        Probe::Executable
    } else {
        Probe::Denied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-path-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn file(d: &std::path::Path, name: &str, mode: u32) -> PathBuf {
        let p = d.join(name);
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn search_follows_path_order_and_skips_what_cannot_run() {
        let a = dir("a");
        let b = dir("b");
        file(&a, "tool", 0o644); // not executable: skipped, remembered
        std::fs::create_dir_all(a.join("sub")).unwrap(); // a directory: skipped
        let good = file(&b, "tool", 0o755);
        let path = std::env::join_paths([&a, &b]).unwrap();
        assert_eq!(find(OsStr::new("tool"), Some(&path)), Ok(good.clone()));
        assert_eq!(
            find(OsStr::new("sub"), Some(&path)),
            Err(NotFound::NotExecutable(a.join("sub")))
        );
        assert_eq!(
            find(OsStr::new("missing-xyz"), Some(&path)),
            Err(NotFound::Missing)
        );
        // Only the non-executable one: permission denied, not "not found".
        let only_a = std::env::join_paths([&a]).unwrap();
        assert_eq!(
            find(OsStr::new("tool"), Some(&only_a)),
            Err(NotFound::NotExecutable(a.join("tool")))
        );
        // A name with a slash is not searched.
        assert_eq!(
            find(good.as_os_str(), Some(OsStr::new("/nonexistent"))),
            Ok(good)
        );
        assert_eq!(
            find(OsStr::new("./no/such/file"), None),
            Err(NotFound::Missing)
        );
        assert_eq!(find(OsStr::new(""), None), Err(NotFound::Empty));
    }

    #[test]
    fn an_empty_path_entry_is_the_current_directory() {
        // Tests run in the package directory, which holds Cargo.toml (not
        // executable): `PATH=:` finds it there, as execvp would try it.
        assert_eq!(
            find(OsStr::new("Cargo.toml"), Some(OsStr::new(":"))),
            Err(NotFound::NotExecutable(PathBuf::from("Cargo.toml")))
        );
        assert_eq!(
            find(OsStr::new("Cargo.toml"), Some(OsStr::new("/nonexistent"))),
            Err(NotFound::Missing)
        );
    }

    #[test]
    fn unset_path_uses_the_default() {
        // /bin/sh exists on every machine this runs on.
        assert_eq!(find(OsStr::new("sh"), None), Ok(PathBuf::from("/bin/sh")));
    }
}
