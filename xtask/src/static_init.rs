//! `cargo xtask static-init [-o PATH]`: builds the static, libc-free launcher
//! of `seccomp-install/static-init` (its own `_start`, no libc, filter
//! assembled at compile time) and copies it to PATH.
//!
//! The launcher runs as `static-init /abs/path/cmd [args...]`: it sets
//! no_new_privs, installs its built-in filter with TSYNC and execs the
//! command. The default PATH is `static-init` in the target directory
//! (`$CARGO_TARGET_DIR`, else `target/`).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::DynError;

/// Flags of the command.
#[derive(clap::Args)]
pub struct Args {
    /// Where to write the executable (default: `<target dir>/static-init`).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode, DynError> {
    let out = args
        .output
        .unwrap_or_else(|| target_dir().join("static-init"));
    let size = build(&out)?;
    eprintln!("wrote {} ({size} bytes, static)", out.display());
    Ok(ExitCode::SUCCESS)
}

/// The workspace root (parent of `xtask/`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `$CARGO_TARGET_DIR`, else `<workspace>/target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// The compiler flags that make a static executable without libc or C start
/// files, entered at the crate's own `_start`.
const RUSTFLAGS: [&str; 7] = [
    "-Cpanic=abort",
    "-Ctarget-feature=+crt-static",
    "-Crelocation-model=static",
    "-Clink-arg=-nostartfiles",
    "-Clink-arg=-nostdlib",
    "-Clink-arg=-static",
    "-Clink-arg=-Wl,--build-id=none",
];

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String, DynError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let out = Command::new(&rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", rustc.to_string_lossy()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|s| s.trim().to_string())
        .ok_or_else(|| "`rustc -vV` printed no host triple".into())
}

/// Builds the launcher in release mode and copies it to `out`; returns its
/// size in bytes.
pub fn build(out: &Path) -> Result<u64, DynError> {
    let triple = host_triple()?;
    if !triple.contains("linux") {
        return Err(format!("static-init runs on Linux only; the host is {triple}").into());
    }
    let crate_dir = workspace_root().join("seccomp-install").join("static-init");
    let build_dir = target_dir().join("static-init-build");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let status = Command::new(&cargo)
        .current_dir(&crate_dir)
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target")
        .arg(&triple)
        .arg("--target-dir")
        .arg(&build_dir)
        // Applies to the target only (explicit --target), and overrides any
        // RUSTFLAGS of the caller, which would otherwise replace ours.
        .env("CARGO_ENCODED_RUSTFLAGS", RUSTFLAGS.join("\x1f"))
        .env_remove("RUSTFLAGS")
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building {} failed ({status})", crate_dir.display()).into());
    }
    let built = build_dir.join(&triple).join("release").join("static-init");
    let bytes = fs::read(&built).map_err(|e| format!("{}: {e}", built.display()))?;
    if !elf_is_static(&bytes)? {
        return Err(format!("{} is not a static executable", built.display()).into());
    }
    copy_executable(&built, out)?;
    Ok(bytes.len() as u64)
}

/// Copies an executable (permissions included) through a temporary file in
/// the destination folder and a rename.
fn copy_executable(from: &Path, to: &Path) -> Result<(), DynError> {
    let dir = match to.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = to
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", to.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = fs::copy(from, &tmp).and_then(|_| fs::rename(&tmp, to));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(format!("{}: {e}", to.display()).into());
    }
    Ok(())
}

/// Whether an ELF file is an executable that needs no dynamic loader: no
/// `PT_INTERP` and no `PT_DYNAMIC` program header.
pub fn elf_is_static(b: &[u8]) -> Result<bool, DynError> {
    const PT_DYNAMIC: u32 = 2;
    const PT_INTERP: u32 = 3;
    if b.len() < 52 || &b[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    let is64 = match b[4] {
        1 => false,
        2 => true,
        c => return Err(format!("unknown ELF class {c}").into()),
    };
    let le = match b[5] {
        1 => true,
        2 => false,
        d => return Err(format!("unknown ELF data encoding {d}").into()),
    };
    let num = |off: usize, len: usize| -> Result<u64, DynError> {
        let s = b
            .get(off..off + len)
            .ok_or_else(|| format!("ELF file truncated at byte {off}"))?;
        let mut v = 0u64;
        for i in 0..len {
            let byte = if le { s[len - 1 - i] } else { s[i] };
            v = v << 8 | u64::from(byte);
        }
        Ok(v)
    };
    let (phoff, phentsize, phnum) = if is64 {
        (num(0x20, 8)?, num(0x36, 2)?, num(0x38, 2)?)
    } else {
        (num(0x1c, 4)?, num(0x2a, 2)?, num(0x2c, 2)?)
    };
    for i in 0..phnum {
        let at = usize::try_from(phoff + i * phentsize)?;
        let p_type = num(at, 4)? as u32;
        if p_type == PT_INTERP || p_type == PT_DYNAMIC {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    //! Builds the launcher once and runs commands under it. Every filter is
    //! installed in a child process (the launcher), never in the test runner.

    use std::os::unix::process::ExitStatusExt;
    use std::sync::OnceLock;

    use super::*;

    const PROBE_ENV: &str = "XTASK_STATIC_INIT_PROBE";

    fn launcher() -> &'static Path {
        static BUILT: OnceLock<PathBuf> = OnceLock::new();
        BUILT.get_or_init(|| {
            let out = target_dir().join("static-init-test").join("static-init");
            let size = build(&out).expect("build static-init");
            println!("static-init: {size} bytes");
            out
        })
    }

    #[test]
    fn the_launcher_is_small_and_static() {
        let bytes = fs::read(launcher()).unwrap();
        assert!(elf_is_static(&bytes).unwrap());
        assert!(bytes.len() < 16 * 1024, "{} bytes", bytes.len());
        if let Ok(out) = Command::new("file").arg(launcher()).output() {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("statically linked"), "{text}");
        }
    }

    #[test]
    fn elf_check_tells_dynamic_executables_apart() {
        // The test binary itself is dynamically linked (glibc host).
        let me = fs::read(std::env::current_exe().unwrap()).unwrap();
        if cfg!(target_env = "gnu") {
            assert!(!elf_is_static(&me).unwrap());
        }
        assert!(elf_is_static(b"not an elf at all, long enough to be read in full.....").is_err());
        assert!(elf_is_static(&me[..60]).is_err());
    }

    #[test]
    fn exit_status_of_the_command_is_passed_on() {
        let st = Command::new(launcher())
            .args(["/bin/sh", "-c", "exit 3"])
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(3));
        let out = Command::new(launcher())
            .args([
                "/bin/sh",
                "-c",
                "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("NoNewPrivs:\t1"), "{text}");
        assert!(text.contains("Seccomp:\t2"), "{text}");
    }

    #[test]
    fn usage_and_missing_commands_are_reported() {
        let out = Command::new(launcher()).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
        let out = Command::new(launcher())
            .arg("/nonexistent/command")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(127));
        assert!(String::from_utf8_lossy(&out.stderr).contains("errno 2"));
    }

    /// Runs this test binary under the launcher in probe `mode`.
    fn probe(mode: &str) -> std::process::Output {
        // No core dumps from the probes that are killed.
        Command::new("/bin/sh")
            .args(["-c", "ulimit -c 0; exec \"$@\"", "sh"])
            .arg(launcher())
            .arg(std::env::current_exe().unwrap())
            .args([
                "static_init::tests::probe_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PROBE_ENV, mode)
            .output()
            .unwrap()
    }

    #[cfg(target_arch = "x86_64")]
    fn raw_syscall(nr: u64, a0: u64, a1: u64, a2: u64) -> i64 {
        let ret: i64;
        // SAFETY: the probed calls get invalid or null arguments that the
        // kernel (or the filter) rejects without touching our memory.
        unsafe {
            core::arch::asm!(
                "syscall",
                inlateout("rax") nr as i64 => ret,
                in("rdi") a0, in("rsi") a1, in("rdx") a2,
                lateout("rcx") _, lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    /// Not a test of its own: the body the probes run under the launcher.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn probe_child() {
        let Ok(mode) = std::env::var(PROBE_ENV) else {
            return;
        };
        let nr = |n: &str| u64::from(bpf_asm::Arch::X86_64.syscall_nr(n).unwrap());
        match mode.as_str() {
            "denied" => {
                for name in [
                    "kexec_load",
                    "init_module",
                    "delete_module",
                    "ptrace",
                    "process_vm_readv",
                    "bpf",
                    "perf_event_open",
                    "userfaultfd",
                    "iopl",
                    "swapoff",
                    "reboot",
                ] {
                    println!("probe {name} {}", raw_syscall(nr(name), 0, 0, 0));
                }
                println!("probe getpid_ok {}", raw_syscall(nr("getpid"), 0, 0, 0) > 0);
            }
            "x32" => {
                raw_syscall(0x4000_0000 | nr("getpid"), 0, 0, 0);
                println!("survived");
            }
            "i386" => {
                let ret: i32;
                // SAFETY: i386 getpid (20) through the compat entry.
                unsafe {
                    core::arch::asm!("int 0x80", inlateout("eax") 20 => ret, options(nostack));
                }
                println!("survived {ret}");
            }
            other => panic!("unknown probe {other}"),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn denied_calls_fail_with_eperm() {
        let out = probe("denied");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        let mut seen = 0;
        for line in text.lines() {
            let Some((_, rest)) = line.split_once("probe ") else {
                continue;
            };
            let mut words = rest.split_whitespace();
            match (words.next(), words.next()) {
                (Some("getpid_ok"), Some(v)) => assert_eq!(v, "true"),
                (Some(name), Some(v)) => {
                    assert_eq!(v, "-1", "{name} should fail with EPERM: {text}");
                    seen += 1;
                }
                _ => panic!("unexpected probe line {line:?}"),
            }
        }
        assert_eq!(seen, 11, "{text}");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn foreign_architectures_and_x32_are_killed() {
        for mode in ["x32", "i386"] {
            let out = probe(mode);
            assert_eq!(
                out.status.signal(),
                Some(31),
                "{mode}: {:?} {}",
                out.status,
                String::from_utf8_lossy(&out.stdout)
            );
            assert!(!String::from_utf8_lossy(&out.stdout).contains("survived"));
        }
    }
}
