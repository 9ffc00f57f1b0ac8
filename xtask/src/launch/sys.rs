//! The system calls of the launcher, as typed wrappers over `libc`.
//!
//! Every `unsafe` of [`crate::launch`] is in this file. Two kinds of wrapper:
//!
//! * **Parent side** (signals, `poll`, `waitpid`, pidfds, fd passing): safe
//!   functions returning `io::Result`, owning descriptors as [`OwnedFd`].
//! * **Child side** ([`child`]): what runs between `fork` and `exec`. These
//!   make one system call each, never allocate and never take a lock, so they
//!   are async-signal-safe and may run in the child of a multi-threaded
//!   parent. They report errors as a raw errno.

use std::ffi::{c_char, c_int, CStr, CString, OsStr};
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::ptr::{self, NonNull};

/// A process id.
pub type Pid = libc::pid_t;

fn cvt(ret: c_int) -> io::Result<c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_long(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

// ---- signals ----------------------------------------------------------------

/// A set of signals (`sigset_t`).
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    /// The empty set.
    pub fn empty() -> SigSet {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the whole set it is given.
        unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            SigSet(set.assume_init())
        }
    }

    /// The set of `signals` (valid signal numbers).
    pub fn of(signals: &[c_int]) -> SigSet {
        let mut set = SigSet::empty();
        for &s in signals {
            // SAFETY: `set.0` is an initialised set; an invalid number is
            // refused with EINVAL and changes nothing.
            unsafe { libc::sigaddset(&mut set.0, s) };
        }
        set
    }
}

/// Adds `set` to the calling thread's blocked signals and returns the mask
/// it had before.
pub fn block_signals(set: &SigSet) -> io::Result<SigSet> {
    let mut old = SigSet::empty();
    // SAFETY: both pointers are to initialised `sigset_t`s.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set.0, &mut old.0) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(old)
}

/// Replaces the calling thread's blocked signals with `set`.
pub fn set_signal_mask(set: &SigSet) -> io::Result<()> {
    // SAFETY: `set.0` is an initialised `sigset_t`; the old mask is not asked for.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set.0, ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// A signal's disposition as `sigaction` reports it, kept to be restored.
#[derive(Clone, Copy)]
pub struct Disposition(libc::sighandler_t);

impl Disposition {
    /// Whether the signal is ignored (`SIG_IGN`).
    pub fn is_ignored(self) -> bool {
        self.0 == libc::SIG_IGN
    }
}

/// Sets `signal` to its default action and returns its previous handler
/// (only `SIG_DFL` and `SIG_IGN` are meaningful to keep: a handler function
/// would not survive `exec` anyway).
pub fn set_default_disposition(signal: c_int) -> io::Result<Disposition> {
    // SAFETY: `signal` with SIG_DFL installs no handler function.
    let old = unsafe { libc::signal(signal, libc::SIG_DFL) };
    if old == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(Disposition(old))
}

/// What a signalfd read reports about one signal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SigInfo {
    /// The signal number.
    pub signo: c_int,
    /// `si_code`: `SI_USER` (0) for `kill`, `SI_KERNEL` (0x80) for signals
    /// the kernel sends itself (the terminal's ^C, hang-ups), ...
    pub code: c_int,
    /// The sender's pid (for `SI_USER`, `SI_QUEUE`, `SIGCHLD`).
    pub pid: u32,
}

/// A non-blocking, close-on-exec signalfd.
pub struct SignalFd(OwnedFd);

impl SignalFd {
    /// A signalfd for `set` (which the caller blocks).
    pub fn new(set: &SigSet) -> io::Result<SignalFd> {
        // SAFETY: `set.0` is an initialised `sigset_t`; -1 asks for a new fd.
        let fd =
            cvt(unsafe { libc::signalfd(-1, &set.0, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) })?;
        // SAFETY: signalfd returned a fresh descriptor that nothing else owns.
        Ok(SignalFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// The next pending signal, or `None` when there is none.
    pub fn read(&self) -> io::Result<Option<SigInfo>> {
        let mut info = MaybeUninit::<libc::signalfd_siginfo>::zeroed();
        let want = size_of::<libc::signalfd_siginfo>();
        loop {
            // SAFETY: the buffer is `want` writable bytes.
            let n = unsafe { libc::read(self.0.as_raw_fd(), info.as_mut_ptr().cast(), want) };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Ok(None),
                    _ => return Err(e),
                }
            }
            if n as usize != want {
                return Err(io::Error::other(format!(
                    "signalfd returned {n} bytes instead of {want}"
                )));
            }
            // SAFETY: the kernel filled the whole structure (checked above),
            // and every bit pattern is a valid `signalfd_siginfo`.
            let info = unsafe { info.assume_init() };
            return Ok(Some(SigInfo {
                signo: info.ssi_signo as c_int,
                code: info.ssi_code,
                pid: info.ssi_pid,
            }));
        }
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

// ---- waiting ------------------------------------------------------------------

/// Waits until one of `fds` is ready or `timeout_ms` passes (-1: no
/// timeout). An interrupted wait returns `Ok(0)`, like a timeout.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: c_int) -> io::Result<usize> {
    // SAFETY: `fds` is a live, writable array of `fds.len()` pollfds.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(r as usize)
}

/// A `pollfd` asking for readability of `fd`.
pub fn poll_in(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// How a child ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WaitStatus {
    /// It called `exit` with this status.
    Exited(i32),
    /// A signal ended it.
    Signaled {
        /// The signal.
        signal: i32,
        /// Whether it dumped core.
        core: bool,
    },
}

/// The result of reaping.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Reap {
    /// This child ended and is now reaped.
    Child(Pid, WaitStatus),
    /// Children exist but none has ended (only without blocking).
    Running,
    /// The caller has no children left.
    NoChildren,
}

/// Reaps any ended child (`waitpid(-1)`); blocks only if `block`.
pub fn reap_any(block: bool) -> io::Result<Reap> {
    let flags = if block { 0 } else { libc::WNOHANG };
    loop {
        let mut status = 0;
        // SAFETY: `status` is a writable int.
        let pid = unsafe { libc::waitpid(-1, &mut status, flags) };
        if pid < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ECHILD) => return Ok(Reap::NoChildren),
                _ => return Err(e),
            }
        }
        if pid == 0 {
            return Ok(Reap::Running);
        }
        let ws = if libc::WIFEXITED(status) {
            WaitStatus::Exited(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            WaitStatus::Signaled {
                signal: libc::WTERMSIG(status),
                core: libc::WCOREDUMP(status),
            }
        } else {
            // Stops and continues are not asked for (no WUNTRACED).
            continue;
        };
        return Ok(Reap::Child(pid, ws));
    }
}

/// Sends `signal` to process `pid`.
pub fn kill(pid: Pid, signal: c_int) -> io::Result<()> {
    // SAFETY: kill has no memory effects in this process.
    cvt(unsafe { libc::kill(pid, signal) }).map(drop)
}

/// This process's id.
pub fn getpid() -> Pid {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// Makes this process a child subreaper: orphaned descendants are
/// re-parented to it instead of to init (`PR_SET_CHILD_SUBREAPER`).
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: the option takes an integer.
    cvt(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) }).map(drop)
}

/// A pidfd for process `pid` (Linux 5.3).
pub fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes integers and returns a new descriptor.
    let fd = cvt_long(unsafe {
        libc::syscall(libc::SYS_pidfd_open, pid as libc::c_long, 0 as libc::c_long)
    })?;
    // SAFETY: the kernel returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A duplicate, in this process, of descriptor `fd` of the process behind
/// `pidfd` (Linux 5.6; needs ptrace access to it). The copy is
/// close-on-exec.
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_getfd takes integers and returns a new descriptor.
    let got = cvt_long(unsafe {
        libc::syscall(
            libc::SYS_pidfd_getfd,
            pidfd.as_raw_fd() as libc::c_long,
            fd as libc::c_long,
            0 as libc::c_long,
        )
    })?;
    // SAFETY: the kernel returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(got as RawFd) })
}

// ---- processes ----------------------------------------------------------------

/// The pids whose parent is `parent`, from `/proc/*/stat`.
pub fn children_of(parent: Pid) -> Vec<Pid> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<Pid>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may contain anything, so split
        // after its last `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<Pid>().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// What `fork` returned.
pub enum Fork {
    /// In the child.
    Child,
    /// In the parent, with the child's pid.
    Parent(Pid),
}

/// `fork()`.
///
/// # Safety
///
/// In the child of a multi-threaded parent only async-signal-safe
/// operations are allowed until `exec` or `_exit`: the child must call only
/// the functions of [`child`] (and read memory prepared before the fork).
pub unsafe fn fork() -> io::Result<Fork> {
    // SAFETY: the caller restricts what the child does.
    let pid = unsafe { libc::fork() };
    match pid {
        p if p < 0 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        p => Ok(Fork::Parent(p)),
    }
}

/// A null-terminated array of C strings (`argv`, `envp`) whose pointers stay
/// put while it lives: the launcher's pre-check reads the very pointer
/// values the child passes to `execve`.
pub struct CStrArray {
    /// Owns what `pointers` points to.
    _strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

impl CStrArray {
    /// The array of `items`; `None` if one contains a NUL byte.
    pub fn new<I, S>(items: I) -> Option<CStrArray>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let strings = items
            .into_iter()
            .map(|s| CString::new(s.as_ref().as_bytes()).ok())
            .collect::<Option<Vec<_>>>()?;
        let mut pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        pointers.push(ptr::null());
        Some(CStrArray {
            _strings: strings,
            pointers,
        })
    }

    /// The address of the pointer array, as `execve` receives it.
    pub fn as_ptr(&self) -> *const *const c_char {
        self.pointers.as_ptr()
    }
}

/// A C string for a path; `None` if it contains a NUL byte.
pub fn c_path(p: &OsStr) -> Option<CString> {
    CString::new(p.as_bytes()).ok()
}

/// `AT_FDCWD` as the 64-bit register value `execveat` receives.
pub const AT_FDCWD_ARG: u64 = libc::AT_FDCWD as i64 as u64;

/// The system calls allowed between `fork` and `exec` (see the module docs).
pub mod child {
    use super::*;

    fn errno() -> i32 {
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL)
    }

    /// Replaces the signal mask.
    pub fn set_signal_mask(set: &SigSet) -> Result<(), i32> {
        // SAFETY: `set.0` is an initialised `sigset_t`.
        match unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set.0, ptr::null_mut()) } {
            0 => Ok(()),
            _ => Err(errno()),
        }
    }

    /// Sets `signal` to `SIG_DFL`, or to `SIG_IGN` when `ignore`.
    pub fn set_disposition(signal: c_int, ignore: bool) -> Result<(), i32> {
        let h = if ignore { libc::SIG_IGN } else { libc::SIG_DFL };
        // SAFETY: no handler function is installed.
        match unsafe { libc::signal(signal, h) } {
            libc::SIG_ERR => Err(errno()),
            _ => Ok(()),
        }
    }

    /// `prctl(PR_SET_PDEATHSIG, signal)`: `signal` is sent to this process
    /// when the thread that forked it ends.
    pub fn set_parent_death_signal(signal: c_int) -> Result<(), i32> {
        // SAFETY: the option takes an integer.
        match unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong) } {
            0 => Ok(()),
            _ => Err(errno()),
        }
    }

    /// The parent's pid (1 or a subreaper's once the parent is gone).
    pub fn getppid() -> Pid {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() }
    }

    /// `execve(path, argv, envp)` with exactly these register values; only
    /// returns on failure, with the errno.
    pub fn execve(path: &CStr, argv: &CStrArray, envp: &CStrArray) -> i32 {
        // SAFETY: the three pointers are a NUL-terminated string and two
        // null-terminated arrays of NUL-terminated strings, all alive.
        unsafe {
            libc::syscall(
                libc::SYS_execve,
                path.as_ptr() as libc::c_long,
                argv.as_ptr() as libc::c_long,
                envp.as_ptr() as libc::c_long,
            );
        }
        errno()
    }

    /// `execveat(AT_FDCWD, path, argv, envp, 0)` with exactly these
    /// register values; only returns on failure, with the errno.
    pub fn execveat(path: &CStr, argv: &CStrArray, envp: &CStrArray) -> i32 {
        // SAFETY: as for `execve`; the directory and flags are integers.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                AT_FDCWD_ARG as libc::c_long,
                path.as_ptr() as libc::c_long,
                argv.as_ptr() as libc::c_long,
                envp.as_ptr() as libc::c_long,
                0 as libc::c_long,
            );
        }
        errno()
    }

    /// `_exit(code)`.
    pub fn exit(code: i32) -> ! {
        // SAFETY: _exit ends the process without running any user code.
        unsafe { libc::_exit(code) }
    }
}

// ---- memory shared with the child -----------------------------------------------

/// A value in an anonymous `MAP_SHARED` mapping, so a forked child's writes
/// stay visible to the parent after the child has exec'd or died. `T` must
/// be made of atomics (it is `Sync`, and shared with another process).
pub struct Shared<T: Sync + Default> {
    ptr: NonNull<T>,
}

impl<T: Sync + Default> Shared<T> {
    /// Maps a fresh `T::default()`.
    pub fn new() -> io::Result<Shared<T>> {
        let len = size_of::<T>().max(1);
        // SAFETY: an anonymous shared mapping of `len` bytes at an address
        // of the kernel's choosing; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(p.cast::<T>()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        // SAFETY: the mapping is page-aligned (so aligned for T), `len`
        // bytes long and writable; nothing else refers to it yet.
        unsafe { ptr.as_ptr().write(T::default()) };
        Ok(Shared { ptr })
    }
}

impl<T: Sync + Default> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the mapping holds an initialised T until `drop`; T is Sync,
        // so shared references from this and other processes are fine.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: Sync + Default> Drop for Shared<T> {
    fn drop(&mut self) {
        // SAFETY: the mapping was created by `new` with this length and
        // nothing borrows it any more (`&mut self`).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), size_of::<T>().max(1)) };
    }
}

// ---- descriptor passing --------------------------------------------------------

/// A `msghdr` with one buffer (`iov`) and a control buffer for `fds`
/// descriptors; the caller keeps both alive while the header is used.
fn message(iov: &mut libc::iovec, control: &mut Vec<u8>, fds: usize) -> libc::msghdr {
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE((fds * size_of::<c_int>()) as u32) } as usize;
    control.clear();
    control.resize(space, 0);
    // SAFETY: an all-zero msghdr is valid (no name, no buffers).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    msg
}

/// Sends `data` on the connected socket `sock` with `fd` attached
/// (`SCM_RIGHTS`), in one `sendmsg`; returns how many bytes went out.
pub fn send_with_fd(sock: BorrowedFd<'_>, data: &[u8], fd: BorrowedFd<'_>) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut control = Vec::new();
    let msg = message(&mut iov, &mut control, 1);
    // SAFETY: `msg.msg_control` points to CMSG_SPACE(one int) bytes, so
    // CMSG_FIRSTHDR is that buffer and CMSG_DATA lies inside it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<c_int>() as u32) as _;
        ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<c_int>(), fd.as_raw_fd());
    }
    loop {
        // SAFETY: `msg` describes live buffers (`data`, `control`).
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Receives up to `buf.len()` bytes from `sock`, with the first descriptor
/// attached to them (`SCM_RIGHTS`), if any. Descriptors beyond the first are
/// closed. (The test agent's side of [`send_with_fd`].)
#[cfg(test)]
pub fn recv_with_fd(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = Vec::new();
    let mut msg = message(&mut iov, &mut control, 8);
    let n = loop {
        // SAFETY: `msg` describes live, writable buffers.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    let mut first = None;
    // SAFETY: the kernel wrote `msg.msg_controllen` bytes of well-formed
    // control messages into `control`; the CMSG_* macros walk exactly those,
    // and each SCM_RIGHTS payload holds (len - CMSG_LEN(0)) / 4 descriptors
    // that this process now owns.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let payload = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let data = libc::CMSG_DATA(cmsg).cast::<c_int>();
                for i in 0..payload / size_of::<c_int>() {
                    let fd = OwnedFd::from_raw_fd(ptr::read_unaligned(data.add(i)));
                    if first.is_none() {
                        first = Some(fd);
                    }
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n, first))
}
