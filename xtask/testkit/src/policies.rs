//! Generated policies at real sizes, as policy text (this crate depends on
//! no workspace crate): one home for the tests, benches and `bench-peers`
//! runs that need them.
//!
//! [`ioctl_rules`] is the argument-heavy policy of issue 11: N rules
//! `syscalls = ["ioctl"]`, `when = ["arg1 == K", "arg2 == M"]`, as Android's,
//! Chromium's and Firecracker's device filters allow `ioctl` by request
//! number. [`ioctl_policy_toml`] writes it in the TOML policy language.

use std::collections::HashSet;

use crate::Rng;

/// One rule: `ioctl` with `arg1 == request` and `arg2 == value` gets
/// `action`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IoctlRule {
    /// The request number (`arg1`), shaped like an `_IOC` number.
    pub request: u32,
    /// The value of `arg2`.
    pub value: u32,
    /// The action, in policy syntax: `allow` (8 in 10), `log` or
    /// `errno(13)`.
    pub action: &'static str,
}

/// How the rules of [`ioctl_rules`] share request numbers and values.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum IoctlMix {
    /// About eight rules per request number, values in `0..64`: a device
    /// whose requests take a few flag or mode values.
    Device,
    /// Every rule its own request number and a random 32-bit value: no two
    /// rules share a constant on either argument.
    Distinct,
}

/// `n` rules with distinct `(request, value)` pairs, deterministic in
/// `seed`; request numbers look like `_IOC` numbers (`dir << 30 | size <<
/// 16 | type << 8 | nr`), shared and valued as `mix` says.
pub fn ioctl_rules(n: usize, seed: u64, mix: IoctlMix) -> Vec<IoctlRule> {
    let mut rng = Rng::new(seed);
    let ioc = |rng: &mut Rng| {
        let dir = rng.below(4) as u32;
        let size = rng.below(1 << 14) as u32;
        let ty = rng.below(256) as u32;
        let nr = rng.below(256) as u32;
        dir << 30 | size << 16 | ty << 8 | nr
    };
    let pool = match mix {
        IoctlMix::Device => n.div_ceil(8).max(1),
        IoctlMix::Distinct => n.max(1),
    };
    let mut requests: Vec<u32> = Vec::with_capacity(pool);
    let mut distinct = HashSet::new();
    while requests.len() < pool {
        let r = ioc(&mut rng);
        if distinct.insert(r) {
            requests.push(r);
        }
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let (request, value) = match mix {
            IoctlMix::Device => (rng.pick(&requests), rng.below(64) as u32),
            IoctlMix::Distinct => (requests[out.len()], rng.next_u32()),
        };
        if !seen.insert((request, value)) {
            continue;
        }
        let action = match rng.below(10) {
            0 => "errno(13)",
            1 => "log",
            _ => "allow",
        };
        out.push(IoctlRule {
            request,
            value,
            action,
        });
    }
    out
}

/// The TOML policy of `rules`: x86_64 only, default `errno(EPERM)`, other
/// architectures and x32 calls `kill_process`, the rules in order.
pub fn ioctl_policy_toml(rules: &[IoctlRule]) -> String {
    let mut s = String::from(
        "default = \"errno(EPERM)\"\narches = [\"x86_64\"]\nbad_arch = \"kill_process\"\n",
    );
    for r in rules {
        s.push_str(&format!(
            "\n[[rule]]\nsyscalls = [\"ioctl\"]\nwhen = [\"arg1 == {:#x}\", \"arg2 == {}\"]\naction = \"{}\"\n",
            r.request, r.value, r.action
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_distinct_deterministic_and_sized() {
        for mix in [IoctlMix::Device, IoctlMix::Distinct] {
            for n in [0, 1, 200, 2000] {
                let a = ioctl_rules(n, 7, mix);
                assert_eq!(a.len(), n);
                assert_eq!(a, ioctl_rules(n, 7, mix));
                let pairs: HashSet<(u32, u32)> = a.iter().map(|r| (r.request, r.value)).collect();
                assert_eq!(pairs.len(), n);
                let requests: HashSet<u32> = a.iter().map(|r| r.request).collect();
                if mix == IoctlMix::Distinct {
                    assert_eq!(requests.len(), n);
                } else {
                    assert!(requests.len() <= n.div_ceil(8).max(1));
                }
            }
        }
        let text = ioctl_policy_toml(&ioctl_rules(3, 1, IoctlMix::Device));
        assert_eq!(text.matches("[[rule]]").count(), 3);
        assert!(text.starts_with("default = \"errno(EPERM)\""));
    }
}
