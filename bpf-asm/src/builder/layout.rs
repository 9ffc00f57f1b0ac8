//! Jump resolution: decides where trampolines go and writes the final program.

use super::{Buffer, BuildError, BuildErrorKind, Fixup, Route, Store, Target, UNBOUND};
use crate::insn::{bpf_class, Insn, BPF_JMP, BPF_MAXINSNS};

/// Largest offset `jt`/`jf` can hold.
const MAX_SHORT: usize = u8::MAX as usize;

/// Resolves all jumps of `store` in place and returns the final length.
pub(super) fn resolve<S: Store>(store: &mut S) -> Result<usize, BuildError> {
    let n = store.insns().len();
    if n == 0 {
        return Err(err(0, BuildErrorKind::Empty));
    }
    check_targets(store, n)?;
    let total = place_trampolines(store);
    let final_len = n + total;
    if final_len > BPF_MAXINSNS {
        return Err(err(n, BuildErrorKind::TooLong { len: final_len }));
    }
    if let Err(capacity) = store.grow_insns(final_len) {
        return Err(err(
            n,
            BuildErrorKind::Capacity {
                buffer: Buffer::Instructions,
                capacity,
            },
        ));
    }
    write_final(store, n);
    Ok(final_len)
}

fn err(index: usize, kind: BuildErrorKind) -> BuildError {
    BuildError { index, kind }
}

/// Original index of the instruction a branch of the jump at `at` reaches.
fn target_index<S: Store>(store: &S, at: u32, t: Target) -> usize {
    match t {
        Target::Next => at as usize + 1,
        Target::Label(l) => store.labels()[l.0 as usize].pos as usize,
    }
}

fn check_targets<S: Store>(store: &S, n: usize) -> Result<(), BuildError> {
    for f in store.fixups() {
        let branches = if f.ja { [f.jt, f.jt] } else { [f.jt, f.jf] };
        for t in branches {
            match t {
                Target::Label(label) => {
                    // Labels were checked to belong to the builder when used.
                    let pos = store.labels()[label.0 as usize].pos;
                    if pos == UNBOUND {
                        return Err(err(f.at as usize, BuildErrorKind::UndefinedLabel { label }));
                    }
                    if pos as usize >= n {
                        return Err(err(
                            f.at as usize,
                            BuildErrorKind::PastEnd { label: Some(label) },
                        ));
                    }
                }
                Target::Next => {
                    if f.at as usize + 1 >= n {
                        return Err(err(f.at as usize, BuildErrorKind::PastEnd { label: None }));
                    }
                }
            }
        }
    }
    let last = store.insns()[n - 1];
    if bpf_class(last.code) == BPF_JMP {
        return Err(err(n - 1, BuildErrorKind::PastEnd { label: None }));
    }
    Ok(())
}

/// Index of the first fixup whose jump is at or after instruction `i`.
fn first_fixup_from(fixups: &[Fixup], i: usize) -> usize {
    fixups.partition_point(|f| (f.at as usize) < i)
}

/// Decides the route of every branch; leaves in `before` the number of
/// trampolines of earlier fixups and returns the total.
///
/// A branch's distance depends only on trampolines between the jump and its
/// target, i.e. on the jump's own and on later jumps' trampolines. Deciding
/// from the last jump to the first therefore sees final positions for
/// everything a decision depends on, in one pass.
fn place_trampolines<S: Store>(store: &mut S) -> usize {
    let nf = store.fixups().len();
    // While deciding, `before` holds the suffix count: the trampolines of
    // this fixup and of all later ones.
    let mut suffix = 0u32;
    for k in (0..nf).rev() {
        let mut f = store.fixups()[k];
        if !f.ja {
            route_branches(store, k, &mut f, suffix);
        }
        suffix += f.trampolines();
        f.before = suffix;
        store.fixups_mut()[k] = f;
    }
    let total = suffix;
    for f in store.fixups_mut() {
        f.before = total - f.before;
    }
    total as usize
}

/// Chooses routes for the branches of the conditional jump `f` (fixup `k`),
/// given that later fixups hold `later` trampolines in all.
fn route_branches<S: Store>(store: &S, k: usize, f: &mut Fixup, later: u32) {
    let fx = store.fixups();
    let at = f.at as usize;
    // Offset of a branch from the jump to the instruction pushed at `ti`.
    let to_index = |ti: usize, own: u8| -> usize {
        let j = first_fixup_from(fx, ti);
        let from_target = if j < fx.len() { fx[j].before } else { 0 };
        (ti - at - 1) + own as usize + (later - from_target) as usize
    };
    // Offset to trampoline `slot` of the later fixup `k2`.
    let to_shared = |k2: usize, slot: u8, own: u8| -> usize {
        let between = later - fx[k2].before; // fixups k+1 .. k2-1
        (fx[k2].at as usize - at) + own as usize + between as usize + slot as usize
    };
    let fits = |route: Route, t: Target, own: u8| -> bool {
        match route {
            Route::Direct => match t {
                Target::Next => true,
                Target::Label(_) => to_index(target_index(store, f.at, t), own) <= MAX_SHORT,
            },
            Route::Own(_) => true,
            Route::Shared { fixup, slot } => to_shared(fixup as usize, slot, own) <= MAX_SHORT,
        }
    };
    let find_shared = |t: Target, own: u8| -> Option<Route> {
        for (k2, f2) in fx.iter().enumerate().skip(k + 1) {
            if f2.at as usize - at > MAX_SHORT {
                break;
            }
            for slot in 0..f2.own {
                if f2.slot_target(slot) == Some(t) && to_shared(k2, slot, own) <= MAX_SHORT {
                    return Some(Route::Shared {
                        fixup: k2 as u32,
                        slot,
                    });
                }
            }
        }
        None
    };
    // Each change either adds an own trampoline (at most 2) or picks a shared
    // one, which only an own addition can invalidate: 6 rounds always settle.
    for _round in 0..6 {
        let mut changed = false;
        for branch in 0..2 {
            let (t, route, sibling_t, sibling) = if branch == 0 {
                (f.jt, f.route_t, f.jf, f.route_f)
            } else {
                (f.jf, f.route_f, f.jt, f.route_t)
            };
            if fits(route, t, f.own) {
                continue;
            }
            let new = if sibling_t == t && sibling != Route::Direct && fits(sibling, t, f.own) {
                sibling
            } else if let Some(shared) = find_shared(t, f.own) {
                shared
            } else {
                f.own += 1;
                Route::Own(f.own - 1)
            };
            if branch == 0 {
                f.route_t = new;
            } else {
                f.route_f = new;
            }
            changed = true;
        }
        if !changed {
            break;
        }
    }
    debug_assert!(fits(f.route_t, f.jt, f.own) && fits(f.route_f, f.jf, f.own));
}

/// Final index of the instruction pushed at `i`.
fn final_pos(fixups: &[Fixup], total: usize, i: usize) -> usize {
    let j = first_fixup_from(fixups, i);
    i + if j < fixups.len() {
        fixups[j].before as usize
    } else {
        total
    }
}

/// Moves every instruction to its final place (from the end, so nothing is
/// overwritten before it moves), patches jumps and writes trampolines.
fn write_final<S: Store>(store: &mut S, n: usize) {
    let total = store.insns().len() - n;
    for i in (0..n).rev() {
        let fx = store.fixups();
        let dest = final_pos(fx, total, i);
        let mut insn = store.insns()[i];
        let j = first_fixup_from(fx, i);
        let fixup = fx.get(j).copied().filter(|f| f.at as usize == i);
        let mut tramps = [None::<(usize, u32)>; 2];
        if let Some(f) = fixup {
            let pos = |t: Target| final_pos(fx, total, target_index(store, f.at, t));
            if f.ja {
                insn.k = (pos(f.jt) - dest - 1) as u32;
            } else {
                let offset = |t: Target, route: Route| -> u8 {
                    let land = match route {
                        Route::Direct => pos(t),
                        Route::Own(slot) => dest + 1 + slot as usize,
                        Route::Shared { fixup, slot } => {
                            let at2 = fx[fixup as usize].at as usize;
                            final_pos(fx, total, at2) + 1 + slot as usize
                        }
                    };
                    let off = land - dest - 1;
                    debug_assert!(off <= MAX_SHORT);
                    off as u8
                };
                insn.jt = offset(f.jt, f.route_t);
                insn.jf = offset(f.jf, f.route_f);
                for slot in 0..f.own {
                    if let Some(t) = f.slot_target(slot) {
                        let q = dest + 1 + slot as usize;
                        tramps[slot as usize] = Some((q, (pos(t) - q - 1) as u32));
                    }
                }
            }
        }
        let out = store.insns_mut();
        out[dest] = insn;
        for (q, k) in tramps.into_iter().flatten() {
            out[q] = Insn::Ja(k).encode();
        }
    }
}
