//! The argument-heavy policy of issue 11 (N rules `syscalls = ["ioctl"]`,
//! `when = ["arg1 == K", "arg2 == M"]`), as data and as policy text, and
//! programs for it built by hand in several shapes (so that proof tests do
//! not depend on the compiler's layout).

use bpf_asm::builder::{ProgramBuilder, Target};
use bpf_asm::policy::Action;
use bpf_asm::seccomp::AUDIT_ARCH_X86_64;
use bpf_asm::{Insn, JmpOp, Size, SockFilter, Src};

use testkit::Rng;

/// One rule: `arg1 == request`, `arg2 == value` → `action`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IoctlRule {
    pub request: u32,
    pub value: u32,
    pub action: Action,
}

/// `n` rules with distinct `(request, value)` pairs: requests look like
/// `_IOC` numbers, about eight rules per request; values are small; most
/// actions allow, some refuse or log.
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
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let request = requests[rng.below(requests.len() as u64) as usize];
        let value = rng.below(64) as u32;
        if !seen.insert((request, value)) {
            continue;
        }
        let action = match rng.below(10) {
            0 => Action::Errno(13),
            1 => Action::Log,
            _ => Action::Allow,
        };
        out.push(IoctlRule {
            request,
            value,
            action,
        });
    }
    out
}

/// The policy text (TOML) of `rules`: x86_64, default `errno(EPERM)`,
/// other architectures and x32 killed.
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

/// How a hand-built program dispatches on the two argument words.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    /// `jeq` chain over the requests, then a chain over their values.
    RequestChain,
    /// Binary search tree over the requests, then a chain over values.
    RequestTree,
    /// `jeq` chain over the values first, then a chain over requests.
    ValueFirst,
}

const IOCTL: u32 = 16;
const EPERM: u32 = 0x0005_0001;
const KILL: u32 = 0x8000_0000;
// x86_64 is little-endian: args[1] at 24 (low) / 28 (high), args[2] at 32 / 36.
const ARG1_LO: u32 = 24;
const ARG1_HI: u32 = 28;
const ARG2_LO: u32 = 32;
const ARG2_HI: u32 = 36;

/// A program equal to the policy of `rules` (first match wins), in `shape`.
pub fn ioctl_program(rules: &[IoctlRule], shape: Shape) -> Vec<SockFilter> {
    let mut b = ProgramBuilder::new();
    let (bad, default, ioctl) = (b.new_label(), b.new_label(), b.new_label());
    let x32 = b.new_label();
    b.push(Insn::LdAbs(Size::W, 4));
    b.jump(
        JmpOp::Jeq,
        Src::K(AUDIT_ARCH_X86_64),
        Target::Next,
        bad.into(),
    );
    b.push(Insn::LdAbs(Size::W, 0));
    b.jump(JmpOp::Jeq, Src::K(IOCTL), ioctl.into(), Target::Next);
    b.jump(JmpOp::Jset, Src::K(0x4000_0000), x32.into(), default.into());
    b.bind(x32);
    b.jump(JmpOp::Jeq, Src::K(u32::MAX), default.into(), bad.into());
    b.bind(ioctl);
    for hi in [ARG1_HI, ARG2_HI] {
        b.push(Insn::LdAbs(Size::W, hi));
        b.jump(JmpOp::Jeq, Src::K(0), Target::Next, default.into());
    }
    // Groups in first-rule order: (outer key, [(inner key, action)]).
    let (outer_off, inner_off) = match shape {
        Shape::ValueFirst => (ARG2_LO, ARG1_LO),
        _ => (ARG1_LO, ARG2_LO),
    };
    let mut groups: Vec<(u32, Vec<(u32, u32)>)> = Vec::new();
    for r in rules {
        let (outer, inner) = match shape {
            Shape::ValueFirst => (r.value, r.request),
            _ => (r.request, r.value),
        };
        match groups.iter_mut().find(|g| g.0 == outer) {
            Some(g) => g.1.push((inner, r.action.to_ret())),
            None => groups.push((outer, vec![(inner, r.action.to_ret())])),
        }
    }
    b.push(Insn::LdAbs(Size::W, outer_off));
    match shape {
        Shape::RequestTree => {
            let mut order: Vec<usize> = (0..groups.len()).collect();
            order.sort_by_key(|&i| groups[i].0);
            let mut ctx = Blocks {
                groups: &groups,
                inner_off,
                default,
            };
            tree(&mut b, &mut ctx, &order);
        }
        _ => {
            let labels: Vec<_> = groups.iter().map(|_| b.new_label()).collect();
            for (g, &l) in groups.iter().zip(&labels) {
                b.jump(JmpOp::Jeq, Src::K(g.0), l.into(), Target::Next);
            }
            b.ja(default);
            let mut ctx = Blocks {
                groups: &groups,
                inner_off,
                default,
            };
            for (i, &l) in labels.iter().enumerate() {
                b.bind(l);
                ctx.block(&mut b, i);
            }
        }
    }
    b.bind(default);
    b.ret(EPERM);
    b.bind(bad);
    b.ret(KILL);
    b.finish().expect("the ioctl program fits")
}

type Label = bpf_asm::builder::Label;

/// What the blocks testing the inner word need.
struct Blocks<'a> {
    groups: &'a [(u32, Vec<(u32, u32)>)],
    inner_off: u32,
    default: Label,
}

impl Blocks<'_> {
    /// Tests the inner word of group `i` (A is reloaded), with the
    /// block's own `ret`s right after it.
    fn block(&mut self, b: &mut ProgramBuilder, i: usize) {
        b.push(Insn::LdAbs(Size::W, self.inner_off));
        let mut local: Vec<(u32, Label)> = Vec::new();
        for &(k, ret) in &self.groups[i].1 {
            let hit = match local.iter().find(|a| a.0 == ret) {
                Some(a) => a.1,
                None => {
                    let l = b.new_label();
                    local.push((ret, l));
                    l
                }
            };
            b.jump(JmpOp::Jeq, Src::K(k), hit.into(), Target::Next);
        }
        b.ja(self.default);
        for (ret, l) in local {
            b.bind(l);
            b.ret(ret);
        }
    }
}

/// A balanced search over the sorted groups `order` (A holds the outer
/// word), with each group's block at its leaf.
fn tree(b: &mut ProgramBuilder, ctx: &mut Blocks<'_>, order: &[usize]) {
    if order.len() <= 3 {
        let labels: Vec<Label> = order.iter().map(|_| b.new_label()).collect();
        for (&i, &l) in order.iter().zip(&labels) {
            b.jump(JmpOp::Jeq, Src::K(ctx.groups[i].0), l.into(), Target::Next);
        }
        b.ja(ctx.default);
        for (&i, &l) in order.iter().zip(&labels) {
            b.bind(l);
            ctx.block(b, i);
        }
        return;
    }
    let mid = order.len() / 2;
    let right = b.new_label();
    b.jump(
        JmpOp::Jge,
        Src::K(ctx.groups[order[mid]].0),
        right.into(),
        Target::Next,
    );
    tree(b, ctx, &order[..mid]);
    b.bind(right);
    tree(b, ctx, &order[mid..]);
}
