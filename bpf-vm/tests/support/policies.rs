//! Programs for the argument-heavy policy of issue 11
//! ([`testkit::policies::ioctl_rules`]) built by hand in several shapes, so
//! that proof tests do not depend on the compiler's layout.

use bpf_asm::builder::{ProgramBuilder, Target};
use bpf_asm::policy::Action;
use bpf_asm::seccomp::AUDIT_ARCH_X86_64;
use bpf_asm::{Insn, JmpOp, Size, SockFilter, Src};

use testkit::policies::IoctlRule;

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
const ALLOW: u32 = 0x7fff_0000;
// x86_64 is little-endian: args[1] at 24 (low) / 28 (high), args[2] at 32 / 36.
const ARG1_LO: u32 = 24;
const ARG1_HI: u32 = 28;
const ARG2_LO: u32 = 32;
const ARG2_HI: u32 = 36;

/// The return value of an action written in policy syntax.
fn ret_of(action: &str) -> u32 {
    Action::parse(action)
        .expect("generated actions parse")
        .to_ret()
}

/// A program equal to the policy of `rules` (first match wins), in `shape`.
pub fn ioctl_program(rules: &[IoctlRule], shape: Shape) -> Vec<SockFilter> {
    ioctl_filter(rules, shape, None)
}

/// A stack of `filters` filters (install order) equal to the policy of
/// `rules`: filter `j` decides the `ioctl` calls whose request lies in its
/// share of the request numbers (the distinct requests cut into `filters`
/// ranges) and allows every other call; the first one also decides the
/// architecture and every other syscall.
pub fn ioctl_stack(rules: &[IoctlRule], filters: usize) -> Vec<Vec<SockFilter>> {
    let mut requests: Vec<u32> = rules.iter().map(|r| r.request).collect();
    requests.sort_unstable();
    requests.dedup();
    let per = requests.len().div_ceil(filters.max(1)).max(1);
    let starts: Vec<u32> = requests.chunks(per).map(|c| c[0]).collect();
    (0..starts.len())
        .map(|j| {
            let lo = if j == 0 { 0 } else { starts[j] };
            let hi = starts.get(j + 1).map_or(u32::MAX, |&s| s - 1);
            let mine: Vec<IoctlRule> = rules
                .iter()
                .copied()
                .filter(|r| (lo..=hi).contains(&r.request))
                .collect();
            ioctl_filter(&mine, Shape::RequestTree, Some((j == 0, lo, hi)))
        })
        .collect()
}

/// One filter for `rules`; with `share = Some((first, lo, hi))` it decides
/// only `ioctl` calls whose request is in `lo..=hi` (and, when `first`,
/// everything that is not `ioctl`) and allows the rest.
fn ioctl_filter(
    rules: &[IoctlRule],
    shape: Shape,
    share: Option<(bool, u32, u32)>,
) -> Vec<SockFilter> {
    let mut b = ProgramBuilder::new();
    let (bad, default, ioctl) = (b.new_label(), b.new_label(), b.new_label());
    let (x32, allow) = (b.new_label(), b.new_label());
    let first = share.is_none_or(|s| s.0);
    b.push(Insn::LdAbs(Size::W, 4));
    let other_arch = if first { bad } else { allow };
    b.jump(
        JmpOp::Jeq,
        Src::K(AUDIT_ARCH_X86_64),
        Target::Next,
        other_arch.into(),
    );
    b.push(Insn::LdAbs(Size::W, 0));
    if first {
        b.jump(JmpOp::Jeq, Src::K(IOCTL), ioctl.into(), Target::Next);
        b.jump(JmpOp::Jset, Src::K(0x4000_0000), x32.into(), default.into());
        b.bind(x32);
        b.jump(JmpOp::Jeq, Src::K(u32::MAX), default.into(), bad.into());
    } else {
        b.jump(JmpOp::Jeq, Src::K(IOCTL), ioctl.into(), allow.into());
    }
    b.bind(ioctl);
    if let Some((_, lo, hi)) = share {
        b.push(Insn::LdAbs(Size::W, ARG1_LO));
        if lo > 0 {
            b.jump(JmpOp::Jge, Src::K(lo), Target::Next, allow.into());
        }
        if hi < u32::MAX {
            b.jump(JmpOp::Jgt, Src::K(hi), allow.into(), Target::Next);
        }
    }
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
            Some(g) => g.1.push((inner, ret_of(r.action))),
            None => groups.push((outer, vec![(inner, ret_of(r.action))])),
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
    b.bind(allow);
    b.ret(ALLOW);
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
