//! Helpers for the tests that drive the `cargo xtask` binary as a user (or
//! a supervisor) would: a deadline on every run, temporary folders, and
//! checks that no process a test started is left behind.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `Command` for the xtask binary under test.
pub fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

/// A folder removed when dropped.
pub struct Tmp(pub PathBuf);

impl Tmp {
    /// A fresh folder named after the test.
    pub fn new(tag: &str) -> Tmp {
        let d = std::env::temp_dir().join(format!("xtask-it-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Tmp(d)
    }

    /// A path inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `text` to `name` and returns its path as a string.
    pub fn file(&self, name: &str, text: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How a run ended and what it printed.
#[derive(Debug)]
pub struct Out {
    /// The exit status, if it exited.
    pub code: Option<i32>,
    /// The signal, if one ended it.
    pub signal: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The longest any run of the binary may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Spawns `cmd` with piped output (standard input from `/dev/null` unless
/// set) and returns the child; see [`finish`].
pub fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn xtask")
}

/// Waits for `child` (killing it and failing after [`DEADLINE`]) and
/// collects its output.
pub fn finish(mut child: Child) -> Out {
    use std::os::unix::process::ExitStatusExt;
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = so.read_to_end(&mut s);
        s
    });
    let t2 = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = se.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the xtask binary did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Out {
        code: status.code(),
        signal: status.signal(),
        stdout: String::from_utf8_lossy(&t1.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t2.join().unwrap()).into_owned(),
    }
}

/// Runs `cmd` to the end (standard input from `/dev/null`).
pub fn output(cmd: &mut Command) -> Out {
    cmd.stdin(Stdio::null());
    finish(spawn(cmd))
}

/// Waits until `path` exists and holds a line, and returns it.
pub fn wait_for_line(path: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            if s.ends_with('\n') {
                return s.trim().to_string();
            }
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether process `pid` exists, is not a zombie, and its command line
/// contains `marker` (so a reused pid does not count).
pub fn alive(pid: u32, marker: &str) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = state
        .rsplit_once(')')
        .is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
    !zombie
        && String::from_utf8_lossy(&cmdline)
            .replace('\0', " ")
            .contains(marker)
}

/// Waits up to a few seconds for `pid` to be gone.
pub fn gone_soon(pid: u32, marker: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if !alive(pid, marker) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Sends `signal` to `pid`.
pub fn kill(pid: u32, signal: i32) {
    // SAFETY: kill has no memory effects in this process.
    unsafe { libc::kill(pid as i32, signal) };
}

/// A TOML policy that allows everything except what `rules` say.
pub fn allow_but(rules: &[(&str, &str)]) -> String {
    let mut s = String::from("default = \"allow\"\n");
    for (sys, action) in rules {
        s.push_str(&format!(
            "[[rule]]\nsyscalls = [{sys}]\naction = \"{action}\"\n"
        ));
    }
    s
}
