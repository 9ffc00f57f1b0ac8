//! The OCI runtime spec's seccomp agent protocol (config-linux.md,
//! "listenerPath" and "The Container Process State"): the runtime connects
//! to the agent's `AF_UNIX` `SOCK_STREAM` socket, sends one container
//! process state as JSON with the listener attached (`SCM_RIGHTS`, named
//! `seccompFd` in `fds`), and closes the connection. A failure to send is an
//! error, and the container is not started.
//!
//! `run` is not a container runtime, so the fields without a container
//! behind them are filled as follows: `id` is `run-<pid>`, `status` is
//! `creating` (the command has not exec'd yet, as with runc's init), `pid`
//! is the command's pid in both places, `bundle` is the launcher's working
//! directory (the command's too), and there are no annotations.

use std::fmt;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use super::sys::{self, Pid};

/// The version of the runtime spec whose container process state is sent
/// (the one that defined it; the format has not changed since).
pub const OCI_VERSION: &str = "1.0.2";

/// The name of the listener in the state's `fds` array.
pub const SECCOMP_FD_NAME: &str = "seccompFd";

/// A seccomp agent: where it listens and the opaque metadata it is sent.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Agent {
    /// The agent's socket.
    pub path: PathBuf,
    /// `listenerMetadata`, passed on as `metadata`.
    pub metadata: Option<String>,
}

/// Why the listener could not be handed to the agent.
#[derive(Debug)]
pub struct AgentError {
    path: PathBuf,
    what: &'static str,
    source: io::Error,
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seccomp agent {}: {}: {}",
            self.path.display(),
            self.what,
            self.source
        )
    }
}

impl std::error::Error for AgentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Agent {
    /// The container process state for the command `pid`, as JSON.
    pub fn state(&self, pid: Pid) -> String {
        let bundle = std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".into());
        let mut v = serde_json::json!({
            "ociVersion": OCI_VERSION,
            "fds": [SECCOMP_FD_NAME],
            "pid": pid,
            "state": {
                "ociVersion": OCI_VERSION,
                "id": format!("run-{pid}"),
                "status": "creating",
                "pid": pid,
                "bundle": bundle,
            },
        });
        if let Some(m) = &self.metadata {
            v["metadata"] = serde_json::Value::String(m.clone());
        }
        v.to_string()
    }

    /// Connects, sends the state of command `pid` with `listener`
    /// attached, and closes the connection.
    pub fn hand_over(&self, listener: BorrowedFd<'_>, pid: Pid) -> Result<(), AgentError> {
        let err = |what| {
            let path = self.path.clone();
            move |source| AgentError { path, what, source }
        };
        let mut stream = UnixStream::connect(&self.path).map_err(err("cannot connect"))?;
        let state = self.state(pid);
        let bytes = state.as_bytes();
        // The descriptor goes with the first bytes; the rest, if the kernel
        // took only part, follows without it (as the spec allows).
        let sent = sys::send_with_fd(stream.as_fd(), bytes, listener)
            .map_err(err("cannot send the container process state"))?;
        stream
            .write_all(&bytes[sent..])
            .map_err(err("cannot send the container process state"))?;
        stream
            .shutdown(std::net::Shutdown::Both)
            .or_else(|e| {
                // The agent may close first once it has read everything.
                if e.kind() == io::ErrorKind::NotConnected {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(err("cannot close the connection"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek};
    use std::os::fd::AsFd;

    #[test]
    fn the_state_has_the_spec_fields() {
        let a = Agent {
            path: "/x".into(),
            metadata: Some("MKNOD=/dev/null".into()),
        };
        let v: serde_json::Value = serde_json::from_str(&a.state(4422)).unwrap();
        assert_eq!(v["ociVersion"], OCI_VERSION);
        assert_eq!(v["fds"], serde_json::json!(["seccompFd"]));
        assert_eq!(v["pid"], 4422);
        assert_eq!(v["metadata"], "MKNOD=/dev/null");
        let s = &v["state"];
        assert_eq!(s["ociVersion"], OCI_VERSION);
        assert_eq!(s["id"], "run-4422");
        assert_eq!(s["status"], "creating");
        assert_eq!(s["pid"], 4422);
        assert!(s["bundle"].as_str().unwrap().starts_with('/'));
        let none = Agent {
            path: "/x".into(),
            metadata: None,
        };
        let v: serde_json::Value = serde_json::from_str(&none.state(1)).unwrap();
        assert!(v.get("metadata").is_none(), "{v}");
    }

    #[test]
    fn a_descriptor_travels_with_the_bytes() {
        let (a, b) = UnixStream::pair().unwrap();
        let path = std::env::temp_dir().join(format!("xtask-agent-fd-{}", std::process::id()));
        std::fs::write(&path, b"payload").unwrap();
        let f = std::fs::File::open(&path).unwrap();
        assert_eq!(
            sys::send_with_fd(a.as_fd(), b"{\"x\":1}", f.as_fd()).unwrap(),
            7
        );
        drop(f);
        let mut buf = [0u8; 64];
        let (n, fd) = sys::recv_with_fd(b.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"{\"x\":1}");
        let mut got = std::fs::File::from(fd.expect("no descriptor"));
        got.rewind().unwrap();
        let mut s = String::new();
        got.read_to_string(&mut s).unwrap();
        assert_eq!(s, "payload");
        let _ = std::fs::remove_file(&path);
    }
}
