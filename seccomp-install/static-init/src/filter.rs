//! The built-in policy, assembled from `bpf_asm` text at compile time
//! (`x86_64.bpf`, `aarch64.bpf`) by [`bpf_asm::bpf_program!`].
//!
//! 1. Calls from a foreign architecture (`seccomp_data.arch` is not the one
//!    this binary was built for, e.g. `int $0x80` i386 calls from an x86_64
//!    task) kill the process: their syscall numbers mean other calls.
//! 2. On x86_64, x32 calls (number `>= 0x40000000`, `__X32_SYSCALL_BIT`)
//!    kill the process for the same reason.
//! 3. These calls fail with `EPERM`; a sandboxed command has no business
//!    with them:
//!    * `kexec_load`, `kexec_file_load`: replace the running kernel;
//!    * `init_module`, `finit_module`, `delete_module`: load or unload
//!      kernel code;
//!    * `ptrace`, `process_vm_readv`, `process_vm_writev`: read and change
//!      other processes, which this filter does not cover (and `ptrace`
//!      could rewrite a traced child's system calls after the filter ran, on
//!      kernels before 4.8);
//!    * `bpf`: loads eBPF programs, a large kernel attack surface;
//!    * `perf_event_open`: kernel attack surface and side channels;
//!    * `userfaultfd`: lets an exploit stall the kernel on a page fault to
//!      win races;
//!    * `iopl`, `ioperm` (x86 only): raw I/O port access;
//!    * `swapon`, `swapoff`, `reboot`: machine-wide memory and power
//!      settings; the command is a workload, not the machine's init;
//!    * `open_by_handle_at`: opens files by handle, bypassing path checks
//!      (the "shocker" container escape);
//!    * `acct`: machine-wide process accounting into an arbitrary file;
//!    * `add_key`, `request_key`, `keyctl`: the kernel keyring is not
//!      namespaced.
//! 4. Everything else is allowed.
//!
//! Kill actions are `KILL_PROCESS`: a killed thread would leave the rest of
//! a multi-threaded command running in an unknown state.

use bpf_asm::SockFilter;

/// The program for x86_64.
#[cfg(target_arch = "x86_64")]
pub const FILTER: &[SockFilter] = &bpf_asm::bpf_program!(arch = X86_64, include_str!("x86_64.bpf"));

/// The program for aarch64.
#[cfg(target_arch = "aarch64")]
pub const FILTER: &[SockFilter] =
    &bpf_asm::bpf_program!(arch = Aarch64, include_str!("aarch64.bpf"));
