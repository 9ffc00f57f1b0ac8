//! [`Fd`]: an owned file descriptor that is closed when dropped.

/// An owned file descriptor (the notification listener), closed with a raw
/// `close` when dropped.
#[derive(Debug, PartialEq, Eq, Hash)]
#[must_use = "dropping an `Fd` closes it"]
pub struct Fd(i32);

impl Fd {
    /// Takes ownership of `fd`.
    ///
    /// # Safety
    ///
    /// `fd` must be an open descriptor that nothing else closes.
    pub const unsafe fn from_raw(fd: i32) -> Fd {
        Fd(fd)
    }

    /// The descriptor number, still owned by `self`.
    pub const fn as_raw(&self) -> i32 {
        self.0
    }

    /// Gives up ownership: the caller must close the returned descriptor.
    #[must_use = "the returned descriptor is no longer closed automatically"]
    pub fn into_raw(self) -> i32 {
        let fd = self.0;
        core::mem::forget(self);
        fd
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: `Fd` owns its descriptor (the contract of `from_raw`), and
        // nothing can use it after `drop`.
        unsafe { crate::sys::close(self.0) };
    }
}
