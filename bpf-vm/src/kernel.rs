//! The kernel versions the models follow: which behaviours of
//! `seccomp_run_filters` a kernel has (the action cache, the x86-64
//! `uretprobe`/`uprobe` exemption), as one [`KernelModel`] value that the
//! stack model ([`crate::stack`]) takes.

use bpf_asm::seccomp::AUDIT_ARCH_X86_64;

/// Which syscall-number exemptions of the action cache the modelled kernel
/// has (`seccomp_uprobe_exception`, x86-64 only).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum UprobeBypass {
    /// No exemption (kernels before ≈6.14).
    None,
    /// `uretprobe` (335) bypasses every filter (≈6.14 and stable backports).
    Uretprobe,
    /// `uretprobe` (335) and `uprobe` (336) bypass every filter (6.18+).
    UretprobeAndUprobe,
}

/// x86-64 `__NR_uretprobe`.
pub const X86_64_NR_URETPROBE: i32 = 335;
/// x86-64 `__NR_uprobe`.
pub const X86_64_NR_UPROBE: i32 = 336;

impl UprobeBypass {
    /// Whether `seccomp_uprobe_exception` lets `(nr, arch)` skip every
    /// filter.
    pub const fn exempts(self, nr: i32, arch: u32) -> bool {
        if arch != AUDIT_ARCH_X86_64 {
            return false;
        }
        match self {
            UprobeBypass::None => false,
            UprobeBypass::Uretprobe => nr == X86_64_NR_URETPROBE,
            UprobeBypass::UretprobeAndUprobe => nr == X86_64_NR_URETPROBE || nr == X86_64_NR_UPROBE,
        }
    }
}

/// The kernel behaviour a stack evaluation models.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct KernelModel {
    /// The `uretprobe`/`uprobe` exemption of the action cache.
    pub uprobe_bypass: UprobeBypass,
    /// Whether the action cache (5.11+) is modelled. When it is, a syscall
    /// every filter of the stack allows as a constant is answered `ALLOW`
    /// without running any filter (`steps` 0); the result is the same as
    /// running them, except through the uprobe exemption.
    pub action_cache: bool,
}

impl KernelModel {
    /// Linux 6.18 on x86-64, the test machine: action cache on, both
    /// `uretprobe` and `uprobe` exempt.
    pub const LINUX_6_18: KernelModel = KernelModel {
        uprobe_bypass: UprobeBypass::UretprobeAndUprobe,
        action_cache: true,
    };
    /// A kernel without the action cache (before 5.11): every filter runs.
    pub const NO_CACHE: KernelModel = KernelModel {
        uprobe_bypass: UprobeBypass::None,
        action_cache: false,
    };
}

impl Default for KernelModel {
    fn default() -> Self {
        KernelModel::LINUX_6_18
    }
}
