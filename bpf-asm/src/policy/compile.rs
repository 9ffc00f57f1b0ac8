//! The policy compiler: a [`super::Policy`] to a cBPF program. (To be written.)
