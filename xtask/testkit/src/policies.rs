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

/// `n` rules with distinct `(request, value)` pairs, deterministic in
/// `seed`: about `n / 8` request numbers (`dir << 30 | size << 16 | type <<
/// 8 | nr`), so each has about eight rules; values in `0..64`.
pub fn ioctl_rules(n: usize, seed: u64) -> Vec<IoctlRule> {
    let mut rng = Rng::new(seed);
    let requests: Vec<u32> = (0..n.div_ceil(8).max(1))
        .map(|_| {
            let dir = rng.below(4) as u32;
            let size = rng.below(256) as u32;
            let ty = rng.below(256) as u32;
            let nr = rng.below(256) as u32;
            dir << 30 | size << 16 | ty << 8 | nr
        })
        .collect();
    // Distinct pairs need enough of them: at most 64 values per request.
    let n = n.min(requests.iter().collect::<HashSet<_>>().len() * 64);
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let request = rng.pick(&requests);
        let value = rng.below(64) as u32;
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
        for n in [0, 1, 200, 2000] {
            let a = ioctl_rules(n, 7);
            assert_eq!(a.len(), n);
            assert_eq!(a, ioctl_rules(n, 7));
            let pairs: HashSet<(u32, u32)> = a.iter().map(|r| (r.request, r.value)).collect();
            assert_eq!(pairs.len(), n);
        }
        let text = ioctl_policy_toml(&ioctl_rules(3, 1));
        assert_eq!(text.matches("[[rule]]").count(), 3);
        assert!(text.starts_with("default = \"errno(EPERM)\""));
    }
}
