//! User notifications: what a listener descriptor (from
//! [`Flags::NEW_LISTENER`](crate::Flags::NEW_LISTENER)) receives and sends.

use core::mem::size_of;

pub use bpf_asm::seccomp::SeccompData;

use crate::sys;
use crate::{Error, Fd};

/// `struct seccomp_notif`: one pending system call.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SeccompNotif {
    /// The cookie that identifies the notification in the answer.
    pub id: u64,
    /// The thread id of the caller (in the listener's PID namespace; 0 if
    /// not visible there).
    pub pid: u32,
    /// Always 0.
    pub flags: u32,
    /// The call.
    pub data: SeccompData,
}

/// `struct seccomp_notif_resp`: the answer to a notification.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SeccompNotifResp {
    /// The `id` of the notification answered.
    pub id: u64,
    /// The return value of the call when `error` is 0.
    pub val: i64,
    /// 0, or a negated errno the call fails with.
    pub error: i32,
    /// 0 or [`SECCOMP_USER_NOTIF_FLAG_CONTINUE`].
    pub flags: u32,
}

/// Let the call run as if there were no filter (then `val` and `error`
/// must be 0).
pub const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;

#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
const fn ioc(write: bool, read: bool, nr: u32, size: usize) -> u32 {
    let dir = (read as u32) << 1 | (write as u32) << 2;
    dir << 29 | (size as u32) << 16 | (b'!' as u32) << 8 | nr
}

#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
)))]
const fn ioc(write: bool, read: bool, nr: u32, size: usize) -> u32 {
    let dir = (write as u32) | (read as u32) << 1;
    dir << 30 | (size as u32) << 16 | (b'!' as u32) << 8 | nr
}

/// `SECCOMP_IOCTL_NOTIF_RECV`: `_IOWR('!', 0, struct seccomp_notif)`.
pub const SECCOMP_IOCTL_NOTIF_RECV: u32 = ioc(true, true, 0, size_of::<SeccompNotif>());
/// `SECCOMP_IOCTL_NOTIF_SEND`: `_IOWR('!', 1, struct seccomp_notif_resp)`.
pub const SECCOMP_IOCTL_NOTIF_SEND: u32 = ioc(true, true, 1, size_of::<SeccompNotifResp>());
/// `SECCOMP_IOCTL_NOTIF_ID_VALID`: `_IOW('!', 2, __u64)`.
pub const SECCOMP_IOCTL_NOTIF_ID_VALID: u32 = ioc(true, false, 2, size_of::<u64>());

impl Fd {
    /// Waits for the next notification on this listener
    /// (`SECCOMP_IOCTL_NOTIF_RECV`). `ENOENT` means the caller went away
    /// before it could be received.
    pub fn recv_notif(&self) -> Result<SeccompNotif, Error> {
        // The kernel requires a zeroed buffer.
        let mut n = SeccompNotif::default();
        sys::notif_recv(self, &mut n)?;
        Ok(n)
    }

    /// Answers a notification (`SECCOMP_IOCTL_NOTIF_SEND`). `ENOENT` means
    /// the caller is gone or was already answered.
    pub fn send_resp(&self, resp: &SeccompNotifResp) -> Result<(), Error> {
        sys::notif_send(self, resp)?;
        Ok(())
    }

    /// Whether notification `id` is still pending
    /// (`SECCOMP_IOCTL_NOTIF_ID_VALID`): check it after reading the
    /// caller's memory, before trusting what was read.
    pub fn notif_id_valid(&self, id: u64) -> Result<bool, Error> {
        match sys::notif_id_valid(self, id) {
            Ok(_) => Ok(true),
            Err(syscalls::Errno::ENOENT) => Ok(false),
            Err(e) => Err(Error::Kernel(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structures_match_the_kernel_sizes() {
        assert_eq!(size_of::<SeccompData>(), 64);
        assert_eq!(size_of::<SeccompNotif>(), 80);
        assert_eq!(size_of::<SeccompNotifResp>(), 24);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn ioctl_numbers_match_the_uapi_header() {
        assert_eq!(SECCOMP_IOCTL_NOTIF_RECV, 0xc050_2100);
        assert_eq!(SECCOMP_IOCTL_NOTIF_SEND, 0xc018_2101);
        assert_eq!(SECCOMP_IOCTL_NOTIF_ID_VALID, 0x4008_2102);
    }
}
