//! libseccomp's table-driven `bpf-sim` expectations, re-expressed in our
//! policy model.
//!
//! libseccomp's regression suite builds a filter per test program
//! (`tests/NN-sim-*.c`) and checks it against `tests/NN-sim-*.tests` lines
//! (`test arch syscall args... result`, with ranges). The shared corpus holds
//! those lines expanded to 7,808 concrete vectors
//! (`libseccomp-tests/flattened_bpf_sim_vectors.json`, with the programs and
//! their pseudo filter code as libseccomp exported them). For every test
//! whose filter our model can express, this file states the equivalent
//! policy (written here from the test program's intent and the filter
//! libseccomp built, not copied), then checks every expanded vector of that
//! test against
//!
//! * `evaluate` on the resolved policy, and
//! * the compiled program, in every layout, under the seccomp emulator (after
//!   the verifier accepted it).
//!
//! # Translating libseccomp's rule semantics
//!
//! Our rules are "first match wins". libseccomp instead merges the rules of a
//! syscall into a decision tree: rules with one action are OR'ed (any match
//! gives the action), an unconditional rule overrides conditional ones, and
//! overlapping rules with different actions are ordered by the tree
//! (see `bpf-asm/src/policy/load/oci.rs`). Each policy below lists, per
//! syscall, the rules in the order libseccomp's tree tries them, so the first
//! match is the branch libseccomp takes.
//!
//! # What cannot be expressed, and the one re-labelling used
//!
//! * Tests whose rules name syscall numbers with no name in any kernel table
//!   (1000, 1001, ... used to keep tests arch-independent): our rules name
//!   syscalls. Such a number `N` is re-labelled: the policy names a real
//!   x86_64 syscall `S` (a *stand-in*, named by no other rule of the test)
//!   instead, and every vector's number is mapped through the swap `N <-> S`
//!   before checking. A swap of two numbers neither of which is otherwise
//!   named (and neither an x32 number) changes nothing but the labels, so
//!   the check is exact.
//! * Rules on syscall `-1` (test 35) have no name and no stand-in that
//!   keeps the `-1` special case meaningful: skipped.
//! * Calls of architectures we have no table for (x32, MIPS N32, sh, m68k,
//!   parisc, 31-bit s390) are skipped per vector, with a count. x32 calls are
//!   still checked where libseccomp's filter does not list x32: there both
//!   give the bad-architecture action.
//! * Rules that differ per architecture (test 17): the model shares rules
//!   across architectures, so that test is checked as one policy per
//!   architecture.
//! * libseccomp also emits rules on its own negative "pseudo-syscall"
//!   numbers (for names an architecture lacks); the kernel never passes
//!   them, and our policies mark such names optional instead.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use bpf_asm::policy::compile::{compile_resolved, CompileOptions, Layout};
use bpf_asm::policy::eval::evaluate;
use bpf_asm::policy::load::parse_condition;
use bpf_asm::policy::resolve::{resolve, syscall_nr, Resolved};
use bpf_asm::policy::{Action, Policy, Rule, SyscallRef};
use bpf_asm::Arch;
use bpf_vm::emu::Prepared;
use bpf_vm::{verify, Mode, SeccompData};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Policy building helpers

const KILL: Action = Action::KillThread;
const ALLOW: Action = Action::Allow;

/// A policy with libseccomp's defaults: bad-architecture action KILL
/// (thread), x32 not allowed.
fn policy(default: Action, arches: &[Arch], rules: Vec<Rule>) -> Policy {
    Policy {
        default,
        arches: arches.to_vec(),
        allow_x32: false,
        bad_arch: KILL,
        rules,
        tests: Vec::new(),
        enosys: Default::default(),
        flags: Default::default(),
        listener: None,
    }
}

/// A rule; a name ending in `?` is optional (skipped on architectures
/// without it); conditions are written as in policy files.
fn rule(names: &[&str], conds: &[&str], action: Action) -> Rule {
    Rule {
        arches: Vec::new(),
        syscalls: names
            .iter()
            .map(|n| match n.strip_suffix('?') {
                Some(name) => SyscallRef {
                    name: name.to_string(),
                    optional: true,
                },
                None => SyscallRef {
                    name: n.to_string(),
                    optional: false,
                },
            })
            .collect(),
        conditions: conds
            .iter()
            .map(|c| {
                parse_condition(c)
                    .unwrap_or_else(|e| panic!("condition `{c}`: {e:?}"))
                    .0
            })
            .collect(),
        action,
    }
}

/// Numbers libseccomp's tests use that name no syscall, in the order their
/// stand-ins are assigned: number `LIBSECCOMP_ONLY[i]` stands for x86_64
/// syscall `STAND_IN_BASE + i`.
const LIBSECCOMP_ONLY: [u32; 31] = [
    999, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
    1015, 1032, 1064, 2000, 2032, 2064, 1101, 1102, 1103, 1104, 1105, 1106, 1107, 1108, 1109,
];
const STAND_IN_BASE: u32 = 160;

/// The name standing in for libseccomp-only number `n` (see the module docs).
fn n(number: u32) -> &'static str {
    let i = LIBSECCOMP_ONLY
        .iter()
        .position(|&x| x == number)
        .unwrap_or_else(|| panic!("{number} has no stand-in"));
    Arch::X86_64
        .syscall_name(STAND_IN_BASE + i as u32)
        .unwrap_or_else(|| panic!("no x86_64 syscall {}", STAND_IN_BASE + i as u32))
}

// ---------------------------------------------------------------------------
// The tests

/// One libseccomp sim test expressed in our model.
struct Case {
    /// The test's name as in the corpus (`02-sim-basic`).
    name: &'static str,
    /// The policy; several when the rules differ per architecture (each
    /// covers its own architectures; vectors go to the one listing theirs,
    /// else the first).
    policies: Vec<Policy>,
    /// libseccomp-only numbers the policy names through stand-ins.
    stand_ins: &'static [u32],
    /// Whether libseccomp's filter lists x32 (then x32 vectors are skipped).
    x32_in_filter: bool,
}

fn case(name: &'static str, p: Policy) -> Case {
    Case {
        name,
        policies: vec![p],
        stand_ins: &[],
        x32_in_filter: false,
    }
}

fn case_n(name: &'static str, stand_ins: &'static [u32], p: Policy) -> Case {
    Case {
        stand_ins,
        ..case(name, p)
    }
}

const X86_64: &[Arch] = &[Arch::X86_64];

/// read(fd 0), write(fd 1 or 2), close and rt_sigreturn allowed: the
/// filter of tests 03, 18, 22, 23 and 26 (34 with the actions swapped).
fn basic_chains(arches: &[Arch], default: Action, action: Action) -> Policy {
    policy(
        default,
        arches,
        vec![
            rule(&["read"], &["arg0 == 0"], action),
            rule(&["write"], &["arg0 == 1"], action),
            rule(&["write"], &["arg0 == 2"], action),
            rule(&["close"], &[], action),
            rule(&["rt_sigreturn"], &[], action),
        ],
    )
}

/// `fd == FD && buf != NULL && count < SSIZE_MAX` (tests 04 and 05).
fn io_chain(fd: u64) -> [String; 3] {
    [
        format!("arg0 == {fd}"),
        "arg1 != 0".to_string(),
        "arg2 < 0x7fff_ffff_ffff_ffff".to_string(),
    ]
}

fn rule_s(names: &[&str], conds: &[String], action: Action) -> Rule {
    let c: Vec<&str> = conds.iter().map(String::as_str).collect();
    rule(names, &c, action)
}

/// The socket calls and their `socketcall` numbers (`SYS_SOCKET`, ...).
const SOCKET_CALLS: [(&str, u32); 20] = [
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];

/// The SysV IPC calls and their `ipc` call numbers (`SEMOP`, ...).
const IPC_CALLS: [(&str, u32); 12] = [
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

/// Each call allowed by its own syscall where the arch has it, and through
/// the multiplexer `mux(code, ...)` where the arch has that.
fn multiplexed(arches: &[Arch], mux: &str, calls: &[(&str, u32)]) -> Policy {
    let mut rules = Vec::new();
    for &(name, code) in calls {
        rules.push(rule(&[&format!("{name}?")], &[], ALLOW));
        rules.push(rule_s(
            &[&format!("{mux}?")],
            &[format!("arg0 == {code}")],
            ALLOW,
        ));
    }
    policy(KILL, arches, rules)
}

/// Every expressed test, in corpus order (one `push` per test, with its
/// comment, reads better than one long `vec!`).
#[allow(clippy::vec_init_then_push)]
fn cases() -> Vec<Case> {
    let mut v = Vec::new();

    // 01-sim-allow: allow everything.
    v.push(case("01-sim-allow", policy(ALLOW, X86_64, vec![])));

    // 02-sim-basic: four syscalls allowed unconditionally.
    v.push(case(
        "02-sim-basic",
        policy(
            KILL,
            X86_64,
            vec![rule(
                &["read", "write", "close", "rt_sigreturn"],
                &[],
                ALLOW,
            )],
        ),
    ));

    // 03-sim-basic_chains: single-argument chains.
    v.push(case(
        "03-sim-basic_chains",
        basic_chains(X86_64, KILL, ALLOW),
    ));

    // 04-sim-multilevel_chains: three-argument chains with != and <.
    v.push(case(
        "04-sim-multilevel_chains",
        policy(
            KILL,
            X86_64,
            vec![
                rule(&["openat", "close", "rt_sigreturn"], &[], ALLOW),
                rule_s(&["read"], &io_chain(0), ALLOW),
                rule_s(&["write"], &io_chain(1), ALLOW),
                rule_s(&["write"], &io_chain(2), ALLOW),
            ],
        ),
    ));

    // 05-sim-long_jumps: one syscall with 100 chains, 98 syscalls with the
    // same chain: jumps longer than 255 instructions.
    {
        let mut rules = vec![rule(&["brk", "close"], &[], ALLOW)];
        for fd in 0..100 {
            rules.push(rule_s(&["chdir"], &io_chain(fd), ALLOW));
        }
        for nr in 0..=100u32 {
            let name = Arch::X86_64.syscall_name(nr).expect("x86_64 0..=100");
            if !["brk", "close", "chdir"].contains(&name) {
                rules.push(rule(&[name], &["arg0 != 0"], ALLOW));
            }
        }
        v.push(case("05-sim-long_jumps", policy(KILL, X86_64, rules)));
    }

    // 06-sim-actions: every action.
    v.push(case(
        "06-sim-actions",
        policy(
            KILL,
            X86_64,
            vec![
                rule(&["read"], &[], ALLOW),
                rule(&["write"], &[], Action::Errno(1)),
                rule(&["close"], &[], Action::Trap(0)),
                rule(&["openat"], &[], Action::Trace(1234)),
                rule(&["fstatfs"], &[], Action::KillProcess),
                rule(&["rt_sigreturn"], &[], Action::Log),
            ],
        ),
    ));

    // 07-sim-db_bug_looping: three OR'ed chains on one syscall.
    v.push(case(
        "07-sim-db_bug_looping",
        policy(
            KILL,
            X86_64,
            vec![
                rule(&["read"], &["arg0 == 1"], ALLOW),
                rule(&["read"], &["arg1 == 0"], ALLOW),
                rule(&["read"], &["arg0 == 0"], ALLOW),
            ],
        ),
    ));

    // 08-sim-subtree_checks: chains that are prefixes/suffixes of others,
    // and one TRAP chain overlapping ALLOW chains (1007).
    v.push(case_n(
        "08-sim-subtree_checks",
        &[1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007],
        policy(
            KILL,
            X86_64,
            vec![
                rule(&[n(1000), n(1001)], &["arg1 == 1"], ALLOW),
                rule(&[n(1002), n(1003)], &["arg1 == 1", "arg2 == 2"], ALLOW),
                rule(&[n(1004), n(1005)], &["arg1 == 1", "arg2 == 2"], ALLOW),
                rule(&[n(1004), n(1005)], &["arg0 == 0", "arg1 == 11"], ALLOW),
                rule(
                    &[n(1004)],
                    &["arg0 == 0", "arg1 == 1", "arg2 == 2", "arg3 == 33"],
                    ALLOW,
                ),
                rule(
                    &[n(1004)],
                    &["arg0 == 0", "arg1 == 1", "arg2 == 2", "arg3 == 3"],
                    ALLOW,
                ),
                rule(&[n(1006)], &["arg1 != 1"], ALLOW),
                rule(&[n(1006)], &["arg2 == 2"], ALLOW),
                rule(&[n(1007)], &["arg3 != 3"], ALLOW),
                rule(&[n(1007)], &["arg2 == 2", "arg3 == 3"], Action::Trap(0)),
            ],
        ),
    ));

    // 09/10-sim-syscall_priority_{pre,post}: priorities only reorder the
    // dispatch; 999 and 1003 are probed and not named.
    for name in [
        "09-sim-syscall_priority_pre",
        "10-sim-syscall_priority_post",
    ] {
        v.push(case_n(
            name,
            &[999, 1000, 1001, 1002, 1003],
            policy(
                KILL,
                X86_64,
                vec![
                    rule(&[n(1000)], &["arg0 == 0", "arg1 == 1"], ALLOW),
                    rule(&[n(1001)], &["arg0 == 0"], ALLOW),
                    rule(&[n(1002)], &[], ALLOW),
                ],
            ),
        ));
    }

    // 12-sim-basic_masked_ops: masked equality next to plain equality on
    // the same argument.
    {
        let alternatives = [
            "arg1 == 1",
            "arg1 & 0xff00 == 0x300",
            "arg1 & 0xffff == 111",
            "arg1 & 0xffff == 11",
            "arg1 & 0xff == 1",
        ];
        let rules = alternatives
            .iter()
            .map(|alt| rule(&[n(1000)], &["arg0 == 0", alt, "arg2 == 2"], ALLOW))
            .collect();
        v.push(case_n(
            "12-sim-basic_masked_ops",
            &[1000],
            policy(KILL, X86_64, rules),
        ));
    }

    // 14-sim-reset: what is left after a reset: write allowed.
    v.push(case(
        "14-sim-reset",
        policy(KILL, X86_64, vec![rule(&["write"], &[], ALLOW)]),
    ));

    // 16-sim-arch_basic: the same rules on every little-endian arch; the
    // socket calls are also allowed through socketcall(SYS_SOCKET,
    // SYS_CONNECT, SYS_SHUTDOWN) where socketcall exists.
    {
        let arches = [
            Arch::X86,
            Arch::X86_64,
            Arch::Arm,
            Arch::Aarch64,
            Arch::Loongarch64,
            Arch::Mipsel,
            Arch::Mipsel64,
            Arch::Ppc64le,
            Arch::Riscv64,
        ];
        let p = policy(
            KILL,
            &arches,
            vec![
                rule(&["read"], &["arg0 == 0"], ALLOW),
                rule(&["write"], &["arg0 == 1"], ALLOW),
                rule(&["write"], &["arg0 == 2"], ALLOW),
                rule(&["close", "socket", "connect", "shutdown"], &[], ALLOW),
                rule(&["socketcall?"], &["arg0 == 1"], ALLOW),
                rule(&["socketcall?"], &["arg0 == 3"], ALLOW),
                rule(&["socketcall?"], &["arg0 == 13"], ALLOW),
            ],
        );
        v.push(Case {
            x32_in_filter: true,
            ..case("16-sim-arch_basic", p)
        });
    }

    // 17-sim-arch_merge: x86 gets the chains, x86_64 the socket calls.
    v.push(Case {
        policies: vec![
            policy(
                KILL,
                &[Arch::X86],
                vec![
                    rule(&["read"], &["arg0 == 0"], ALLOW),
                    rule(&["write"], &["arg0 == 1"], ALLOW),
                    rule(&["write"], &["arg0 == 2"], ALLOW),
                    rule(&["close"], &[], ALLOW),
                ],
            ),
            policy(
                KILL,
                X86_64,
                vec![rule(&["socket", "connect", "shutdown"], &[], ALLOW)],
            ),
        ],
        ..case("17-sim-arch_merge", policy(KILL, X86_64, vec![]))
    });

    // 18-sim-basic_allowlist and 22-sim-basic_chains_array: the chains of
    // 03 built through other API calls.
    v.push(case(
        "18-sim-basic_allowlist",
        basic_chains(X86_64, KILL, ALLOW),
    ));

    // 19-sim-missing_syscalls: rules for syscalls x86 lacks add nothing.
    v.push(case(
        "19-sim-missing_syscalls",
        policy(KILL, &[Arch::X86], vec![]),
    ));

    v.push(case(
        "22-sim-basic_chains_array",
        basic_chains(X86_64, KILL, ALLOW),
    ));

    // 23-sim-arch_all_le_basic / 26-sim-arch_all_be_basic: the chains on
    // every little- / big-endian arch we have.
    v.push(Case {
        x32_in_filter: true,
        ..case(
            "23-sim-arch_all_le_basic",
            basic_chains(
                &[
                    Arch::X86,
                    Arch::X86_64,
                    Arch::Arm,
                    Arch::Aarch64,
                    Arch::Loongarch64,
                    Arch::Mipsel,
                    Arch::Mipsel64,
                    Arch::Ppc64le,
                    Arch::Riscv64,
                ],
                KILL,
                ALLOW,
            ),
        )
    });

    // 25-sim-multilevel_chains_adv: != in the middle of a chain.
    v.push(case(
        "25-sim-multilevel_chains_adv",
        policy(
            KILL,
            X86_64,
            vec![
                rule(&["mprotect"], &["arg0 == 11", "arg1 != 12"], ALLOW),
                rule(
                    &["writev"],
                    &["arg0 == 21", "arg1 != 22", "arg2 == 23"],
                    ALLOW,
                ),
            ],
        ),
    ));

    v.push(case(
        "26-sim-arch_all_be_basic",
        basic_chains(
            &[
                Arch::Mips,
                Arch::Mips64,
                Arch::Ppc,
                Arch::Ppc64,
                Arch::S390x,
            ],
            KILL,
            ALLOW,
        ),
    ));

    // 27-sim-bpf_blk_state: many KILL chains under an ALLOW default.
    {
        let mut rules = Vec::new();
        for fd in (3..=9).chain(11..=15) {
            rules.push(rule_s(&[n(1000)], &[format!("arg0 == {fd}")], KILL));
        }
        rules.push(rule(&[n(1000)], &["arg0 >= 16"], KILL));
        v.push(case_n(
            "27-sim-bpf_blk_state",
            &[1000],
            policy(ALLOW, X86_64, rules),
        ));
    }

    // 28-sim-arch_x86: x86 and x86_64 only; arm and x32 get bad_arch.
    v.push(case(
        "28-sim-arch_x86",
        policy(
            ALLOW,
            &[Arch::X86_64, Arch::X86],
            vec![rule(&["close"], &[], Action::Errno(1))],
        ),
    ));

    // 29-sim-pseudo_syscall: rules on pseudo-syscalls add nothing.
    v.push(case(
        "29-sim-pseudo_syscall",
        policy(ALLOW, &[Arch::X86], vec![]),
    ));

    // 30-sim-socket_syscalls / 33-sim-socket_syscalls_be: every socket
    // call allowed, directly and through socketcall(SYS_*) where the arch
    // multiplexes them (libseccomp adds both for one rule; here they are
    // written out).
    v.push(Case {
        x32_in_filter: true,
        ..case(
            "30-sim-socket_syscalls",
            multiplexed(
                &[Arch::X86, Arch::X86_64, Arch::Ppc64le, Arch::Mipsel],
                "socketcall",
                &SOCKET_CALLS,
            ),
        )
    });
    v.push(case(
        "33-sim-socket_syscalls_be",
        multiplexed(
            &[Arch::S390x, Arch::Ppc],
            "socketcall",
            &[
                ("socket", 1),
                ("connect", 3),
                ("accept", 5),
                ("shutdown", 13),
                ("accept4", 18),
            ],
        ),
    ));

    // 34-sim-basic_denylist: the chains of 03 as a deny list.
    v.push(case(
        "34-sim-basic_denylist",
        basic_chains(X86_64, ALLOW, KILL),
    ));

    // 36-sim-ipc_syscalls / 37-sim-ipc_syscalls_be: the SysV IPC calls,
    // directly and through ipc(call).
    v.push(Case {
        x32_in_filter: true,
        ..case(
            "36-sim-ipc_syscalls",
            multiplexed(
                &[
                    Arch::X86,
                    Arch::X86_64,
                    Arch::Ppc64le,
                    Arch::Mipsel,
                    Arch::Loongarch64,
                ],
                "ipc",
                &IPC_CALLS,
            ),
        )
    });
    v.push(case(
        "37-sim-ipc_syscalls_be",
        multiplexed(&[Arch::S390x, Arch::Ppc], "ipc", &IPC_CALLS),
    ));

    // 40-sim-log: LOG default.
    v.push(case("40-sim-log", policy(Action::Log, X86_64, vec![])));

    // 41-sim-syscall_priority_arch: socket on x86 is the direct syscall and
    // socketcall(SYS_SOCKET).
    v.push(case(
        "41-sim-syscall_priority_arch",
        policy(
            KILL,
            &[Arch::X86],
            vec![
                rule(&["socketcall"], &["arg0 == 1"], ALLOW),
                rule(&["socket"], &[], ALLOW),
            ],
        ),
    ));

    // 42-sim-adv_chains: chains with != and >=, overlapping ALLOW/TRAP rules,
    // rules that make earlier ones redundant.
    v.push(case_n(
        "42-sim-adv_chains",
        &[
            1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
            1014, 1015,
        ],
        policy(
            KILL,
            X86_64,
            vec![
                rule(&[n(1001), n(1005), n(1012)], &[], ALLOW),
                rule(&[n(1002), n(1006), n(1007)], &["arg0 == 1"], ALLOW),
                rule(&[n(1003)], &["arg0 == 1"], Action::Trap(0)),
                rule(&[n(1003)], &[], ALLOW),
                rule(&[n(1004)], &["arg0 == 1"], ALLOW),
                rule(&[n(1004)], &[], Action::Trap(0)),
                rule(&[n(1008), n(1013)], &["arg0 != 1", "arg1 != 2"], ALLOW),
                rule(&[n(1009)], &["arg0 != 1"], ALLOW),
                rule(&[n(1009)], &["arg1 != 2"], ALLOW),
                rule(&[n(1010)], &["arg0 == 1"], ALLOW),
                rule(&[n(1010)], &["arg1 == 2"], ALLOW),
                rule(&[n(1011)], &["arg0 == 1"], ALLOW),
                rule(&[n(1011)], &["arg2 == 1"], ALLOW),
                rule(&[n(1014)], &["arg3 >= 1", "arg4 >= 2"], ALLOW),
                rule(&[n(1014)], &["arg0 != 1", "arg1 != 2"], ALLOW),
                rule(&[n(1015)], &["arg0 == 4"], ALLOW),
            ],
        ),
    ));

    // 43-sim-a2_order: ranges of one argument with different actions,
    // decided from the outermost range in.
    {
        let mut rules = vec![rule(&["read"], &["arg2 <= 64"], ALLOW)];
        for (bound, errno) in [
            (16384, 12),
            (8192, 11),
            (4096, 10),
            (2048, 9),
            (1024, 8),
            (512, 7),
            (256, 6),
            (128, 5),
        ] {
            rules.push(rule_s(
                &["read"],
                &[format!("arg2 > {bound}")],
                Action::Errno(errno),
            ));
        }
        for (bound, errno) in [
            (128, 5),
            (256, 6),
            (512, 7),
            (1024, 8),
            (2048, 9),
            (4096, 10),
            (8192, 11),
            (16384, 12),
        ] {
            rules.push(rule_s(
                &["write"],
                &[format!("arg2 < {bound}")],
                Action::Errno(errno),
            ));
        }
        rules.push(rule(&["write"], &["arg2 >= 32768"], ALLOW));
        v.push(case("43-sim-a2_order", policy(KILL, X86_64, rules)));
    }

    // 45-sim-chain_code_coverage: masked, >=, > and != on one syscall, all
    // ALLOW.
    v.push(case_n(
        "45-sim-chain_code_coverage",
        &[1008],
        policy(
            KILL,
            X86_64,
            vec![
                rule(&[n(1008)], &["arg2 & 0xff == 6"], ALLOW),
                rule(&[n(1008)], &["arg2 & 0xff == 5"], ALLOW),
                rule(&[n(1008)], &["arg2 & 0xf == 4"], ALLOW),
                rule(&[n(1008)], &["arg1 >= 2"], ALLOW),
                rule(
                    &[n(1008)],
                    &[
                        "arg0 != 7",
                        "arg1 < 8",
                        "arg2 == 9",
                        "arg3 >= 10",
                        "arg4 > 11",
                    ],
                    ALLOW,
                ),
                rule(&[n(1008)], &["arg0 > 3"], ALLOW),
                rule(&[n(1008)], &["arg0 >= 1"], ALLOW),
            ],
        ),
    ));

    // 46-sim-kill_process: KILL_PROCESS default next to KILL (thread).
    v.push(case(
        "46-sim-kill_process",
        policy(
            Action::KillProcess,
            X86_64,
            vec![
                rule(&["read"], &[], ALLOW),
                rule(&["write"], &[], Action::Errno(5)),
                rule(&["open"], &[], KILL),
                rule(&["close"], &["arg0 > 100"], Action::Errno(6)),
            ],
        ),
    ));

    // 48-sim-32b_args: -1 as a 64-bit datum, and 0xffffffff.
    v.push(case_n(
        "48-sim-32b_args",
        &[1000, 1032, 1064, 2000, 2032, 2064],
        policy(
            KILL,
            X86_64,
            vec![
                rule(
                    &[n(1000), n(1064), n(2000), n(2064)],
                    &["arg0 == 0xffff_ffff_ffff_ffff"],
                    ALLOW,
                ),
                rule(&[n(1032), n(2032)], &["arg0 == 0xffff_ffff"], ALLOW),
            ],
        ),
    ));

    // 49-sim-64b_comparisons: < on a constant with both halves non-zero.
    v.push(case_n(
        "49-sim-64b_comparisons",
        &[1000],
        policy(
            KILL,
            X86_64,
            vec![rule(&[n(1000)], &["arg0 < 0x1234_5678_9abc"], ALLOW)],
        ),
    ));

    // 50-sim-hash_collision: rules whose internal hashes collide.
    v.push(case_n(
        "50-sim-hash_collision",
        &[1000, 1001],
        policy(
            Action::Errno(100),
            X86_64,
            vec![
                rule(&[n(1000)], &["arg0 == 1"], ALLOW),
                rule(&[n(1000)], &["arg0 == 2"], ALLOW),
                rule(&[n(1001)], &["arg0 == 1", "arg1 & 0xf == 1"], ALLOW),
                rule(
                    &[n(1001)],
                    &["arg0 == 1", "arg1 & 0xf == 2", "arg2 == 3"],
                    ALLOW,
                ),
            ],
        ),
    ));

    // 53-sim-binary_tree: 37 rules (ERRNO(n)) on four 64-bit arches; names
    // an arch lacks are optional there.
    {
        let plain: [(&str, u16); 27] = [
            ("read", 0),
            ("write", 1),
            ("open?", 2),
            ("stat?", 4),
            ("fstat?", 5),
            ("lstat?", 6),
            ("mmap", 9),
            ("mprotect", 10),
            ("munmap", 11),
            ("brk", 12),
            ("rt_sigaction", 13),
            ("rt_sigprocmask", 14),
            ("rt_sigreturn", 15),
            ("ioctl", 16),
            ("pwrite64", 18),
            ("readv", 19),
            ("writev", 20),
            ("access?", 21),
            ("pipe?", 22),
            ("sched_yield", 24),
            ("msync", 26),
            ("mincore", 27),
            ("madvise", 28),
            ("dup2?", 33),
            ("pause?", 34),
            ("nanosleep", 35),
            ("getitimer", 36),
        ];
        let mut rules: Vec<Rule> = plain
            .iter()
            .map(|&(name, e)| rule(&[name], &[], Action::Errno(e)))
            .collect();
        rules.push(rule(&["alarm?"], &[], Action::Errno(37)));
        rules.push(rule(
            &["close"],
            &["arg0 == 100", "arg1 == 101"],
            Action::Errno(3),
        ));
        rules.push(rule(&["poll?"], &["arg0 == 102"], Action::Errno(7)));
        rules.push(rule(
            &["lseek"],
            &["arg0 == 103", "arg1 == 104"],
            Action::Errno(8),
        ));
        rules.push(rule(&["pread64"], &["arg0 == 105"], Action::Errno(17)));
        rules.push(rule(
            &["select?"],
            &["arg0 == 106", "arg1 == 107"],
            Action::Errno(23),
        ));
        rules.push(rule(
            &["mremap"],
            &["arg0 == 108", "arg1 == 109"],
            Action::Errno(25),
        ));
        rules.push(rule(&["dup"], &["arg0 == 112"], Action::Errno(32)));
        v.push(case(
            "53-sim-binary_tree",
            policy(
                ALLOW,
                &[
                    Arch::X86_64,
                    Arch::Ppc64le,
                    Arch::Aarch64,
                    Arch::Loongarch64,
                ],
                rules,
            ),
        ));
    }

    // 59-basic-empty_binary_tree: binary tree requested, no rules.
    v.push(case(
        "59-basic-empty_binary_tree",
        policy(ALLOW, X86_64, vec![]),
    ));

    // 60-sim-precompute: two KILL rules under an ALLOW default.
    v.push(case_n(
        "60-sim-precompute",
        &[1000, 1001],
        policy(ALLOW, X86_64, vec![rule(&[n(1000), n(1001)], &[], KILL)]),
    ));

    // 61-sim-transactions: the filter as committed (rules of rejected
    // transactions are gone: 1105 and 1110 stay allowed).
    v.push(case_n(
        "61-sim-transactions",
        &[
            1000, 1001, 1002, 1003, 1101, 1102, 1103, 1104, 1106, 1107, 1108, 1109,
        ],
        policy(
            ALLOW,
            X86_64,
            vec![rule(
                &[
                    n(1000),
                    n(1001),
                    n(1002),
                    n(1003),
                    n(1101),
                    n(1102),
                    n(1103),
                    n(1104),
                    n(1106),
                    n(1107),
                    n(1108),
                    n(1109),
                ],
                &[],
                KILL,
            )],
        ),
    ));

    // 62-sim-arch_transactions: the committed filter.
    v.push(case(
        "62-sim-arch_transactions",
        policy(
            ALLOW,
            X86_64,
            vec![rule(&["read", "write", "open"], &[], KILL)],
        ),
    ));

    v
}

/// Tests that cannot be expressed, with the reason.
const NOT_EXPRESSED: &[(&str, &str)] = &[
    (
        "35-sim-negative_one",
        "its rule names syscall -1, which has no name; no stand-in keeps the -1 special case meaningful",
    ),
];

/// Architectures of the vectors that have no syscall table here.
const FOREIGN_ARCHES: &[&str] = &[
    "x32",
    "mipsel64n32",
    "mips64n32",
    "sh",
    "sheb",
    "m68k",
    "parisc",
    "parisc64",
    "s390",
];

// ---------------------------------------------------------------------------
// The check

/// libseccomp's expectation string as an action (`KILL` is KILL_THREAD,
/// `TRAP` has data 0).
fn expected_action(s: &str) -> Action {
    let (head, arg) = match s.split_once('(') {
        Some((h, rest)) => (
            h,
            Some(
                rest.trim_end_matches(')')
                    .parse::<u16>()
                    .unwrap_or_else(|_| panic!("bad expectation {s}")),
            ),
        ),
        None => (s, None),
    };
    match (head, arg) {
        ("ALLOW", None) => Action::Allow,
        ("KILL", None) => Action::KillThread,
        ("KILL_PROCESS", None) => Action::KillProcess,
        ("TRAP", None) => Action::Trap(0),
        ("LOG", None) => Action::Log,
        ("USER_NOTIF", None) => Action::UserNotif,
        ("ERRNO", Some(e)) => Action::Errno(e),
        ("TRACE", Some(d)) => Action::Trace(d),
        _ => panic!("unknown expectation {s}"),
    }
}

/// One concrete vector of the corpus.
struct Vector {
    arch: String,
    audit_arch: u32,
    nr: u32,
    args: [u64; 6],
    big_endian: bool,
    expected: Action,
}

fn parse_vector(v: &Value) -> Vector {
    let args = v["args"].as_array().expect("args");
    assert_eq!(args.len(), 6, "vector {v}");
    Vector {
        arch: v["arch"].as_str().expect("arch").to_string(),
        audit_arch: v["audit_arch"].as_u64().expect("audit_arch") as u32,
        // Numbers are C ints (libseccomp's pseudo-syscalls are negative);
        // the filter loads them as u32.
        nr: v["nr"].as_i64().expect("nr") as i32 as u32,
        args: core::array::from_fn(|i| args[i].as_u64().unwrap_or(0)),
        big_endian: v["big_endian"].as_bool().expect("big_endian"),
        expected: expected_action(v["expected"].as_str().expect("expected")),
    }
}

/// A policy resolved and compiled in every layout.
struct Built {
    resolved: Resolved,
    programs: Vec<(Layout, Prepared)>,
}

fn build(name: &str, p: &Policy) -> Built {
    let resolved = resolve(p).unwrap_or_else(|e| panic!("{name}: policy does not resolve: {e}"));
    let programs = Layout::ALL
        .iter()
        .map(|&layout| {
            let opts = CompileOptions {
                layout,
                profile: None,
            };
            let prog = compile_resolved(&resolved, &opts)
                .unwrap_or_else(|e| panic!("{name}: {layout} layout: {e}"))
                .program;
            if let Err(e) = verify(&prog, Mode::Seccomp) {
                panic!("{name}: {layout} program rejected by the verifier: {e:?}");
            }
            (layout, Prepared::new(&prog).expect("verified"))
        })
        .collect();
    Built { resolved, programs }
}

/// Maps a vector's syscall number through the stand-in swaps of `case` on
/// `arch` (see the module docs).
fn relabel(case: &Case, resolved: &Resolved, arch: Arch, nr: u32) -> u32 {
    for &orig in case.stand_ins {
        let sub = syscall_nr(arch, n(orig))
            .unwrap_or_else(|| panic!("{}: stand-in {} missing on {arch:?}", case.name, n(orig)));
        if let Some(rules) = resolved.arch(arch.audit_arch()) {
            assert!(
                rules.rules_for(orig).next().is_none(),
                "{}: {orig} is named by a rule on {arch:?}: the swap would not be exact",
                case.name
            );
        }
        if nr == orig {
            return sub;
        }
        if nr == sub {
            return orig;
        }
    }
    nr
}

/// The syscall numbers libseccomp's filter tests, per architecture name,
/// read from its pseudo filter code; its negative pseudo-syscall numbers are
/// left out (the kernel never passes them).
fn pfc_syscalls(pfc: &str) -> BTreeMap<String, BTreeSet<u32>> {
    let mut out: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    let mut arch = None;
    for line in pfc.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("# filter for arch ") {
            let name = rest
                .split_whitespace()
                .next()
                .expect("arch name")
                .to_string();
            out.entry(name.clone()).or_default();
            arch = Some(name);
        } else if let Some(rest) = line.strip_prefix("# filter for syscall ") {
            let open = rest.find(" (").expect("syscall number");
            let close = rest[open..].find(')').expect("syscall number") + open;
            let nr: u64 = rest[open + 2..close].parse().expect("syscall number");
            let arch = arch.clone().expect("syscall before arch");
            if nr < 0x8000_0000 {
                out.entry(arch).or_default().insert(nr as u32);
            }
        }
    }
    out
}

/// The syscall numbers our policies of `case` name, per architecture name,
/// with stand-ins mapped back to libseccomp's numbers.
fn our_syscalls(case: &Case, built: &[Built]) -> BTreeMap<String, BTreeSet<u32>> {
    let mut out: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for b in built {
        for a in &b.resolved.arches {
            let set = out.entry(a.arch.name().to_string()).or_default();
            for (nr, _) in a.syscalls() {
                set.insert(relabel(case, &b.resolved, a.arch, nr));
            }
        }
    }
    out
}

/// Outcome of checking one case.
#[derive(Default)]
struct Tally {
    /// The base seed of the generated calls (each case mixes in its name).
    seed: u64,
    checked: usize,
    generated: usize,
    skipped: BTreeMap<String, usize>,
    disagreements: Vec<String>,
}

fn check_case(case: &Case, program: &Value, vectors: &[Vector], tally: &mut Tally) {
    let pfc = program["pfc"].as_str().expect("pfc");
    let built: Vec<Built> = case.policies.iter().map(|p| build(case.name, p)).collect();
    // Same architectures and, on each, the same syscalls as libseccomp's
    // filter: the policy is not merely tuned to the vectors.
    let mut theirs = pfc_syscalls(pfc);
    theirs.retain(|arch, _| !FOREIGN_ARCHES.contains(&arch.as_str()));
    let ours = our_syscalls(case, &built);
    if ours != theirs {
        tally.disagreements.push(format!(
            "{}: syscalls named per arch differ from libseccomp's filter:\n  ours   {ours:?}\n  theirs {theirs:?}",
            case.name
        ));
    }
    for v in vectors {
        if FOREIGN_ARCHES.contains(&v.arch.as_str()) {
            let x32_checkable = v.arch == "x32" && !case.x32_in_filter;
            if !x32_checkable {
                let why = if v.arch == "x32" {
                    "x32 (libseccomp's filter has x32 rules; no x32 table here)".to_string()
                } else {
                    format!("{} (no syscall table here)", v.arch)
                };
                *tally.skipped.entry(why).or_default() += 1;
                continue;
            }
        }
        let arch = Arch::from_audit(v.audit_arch);
        let idx = case
            .policies
            .iter()
            .position(|p| arch.is_some_and(|a| p.arches.contains(&a)))
            .unwrap_or(0);
        let b = &built[idx];
        let endian = if v.big_endian {
            bpf_asm::Endian::Big
        } else {
            bpf_asm::Endian::Little
        };
        if let Some(a) = arch {
            assert_eq!(
                a.endian(),
                endian,
                "{}: byte order of {}",
                case.name,
                v.arch
            );
        }
        let nr = match arch {
            Some(a) if !case.stand_ins.is_empty() => relabel(case, &b.resolved, a, v.nr),
            _ => v.nr,
        };
        let want = v.expected;
        let got = evaluate(&b.resolved, v.audit_arch, nr, &v.args);
        if got != want {
            tally.disagreements.push(format!(
                "{}: evaluate: {} nr {} (as {nr}) args {:x?}: got {got}, libseccomp {want}",
                case.name, v.arch, v.nr as i32, v.args
            ));
        }
        let data = SeccompData {
            nr: nr as i32,
            arch: v.audit_arch,
            instruction_pointer: 0,
            args: v.args,
        };
        for (layout, prog) in &b.programs {
            let ret = prog.run(&data, endian).ret;
            if ret != want.to_ret() {
                tally.disagreements.push(format!(
                    "{}: {layout} program: {} nr {} (as {nr}) args {:x?}: returns {ret:#x}, libseccomp {want} ({:#x})",
                    case.name,
                    v.arch,
                    v.nr as i32,
                    v.args,
                    want.to_ret()
                ));
            }
        }
        tally.checked += 1;
    }
    let big_endian = vectors.first().is_some_and(|v| v.big_endian);
    let theirs = libseccomp_program(program["bpf_b64"].as_str().expect("bpf_b64"), big_endian);
    tally.generated += differential(case, &built, &theirs, pfc, vectors, tally);
}

// ---------------------------------------------------------------------------
// Beyond the vectors: our policy against libseccomp's own program

/// libseccomp's exported program: `struct sock_filter`s in the target's
/// byte order.
fn libseccomp_program(b64: &str, big_endian: bool) -> Vec<bpf_asm::SockFilter> {
    let bytes = testkit::base64_decode(b64).expect("valid base64");
    assert_eq!(bytes.len() % 8, 0, "program bytes not a multiple of 8");
    bytes
        .chunks(8)
        .map(|b| {
            let (code, k) = if big_endian {
                (
                    u16::from_be_bytes([b[0], b[1]]),
                    u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                )
            } else {
                (
                    u16::from_le_bytes([b[0], b[1]]),
                    u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                )
            };
            bpf_asm::SockFilter {
                code,
                jt: b[2],
                jf: b[3],
                k,
            }
        })
        .collect()
}

/// Argument values at and around every constant and mask of the policies
/// and every argument of the vectors, with the halves varied.
fn interesting_values(case: &Case, vectors: &[Vector]) -> Vec<u64> {
    let mut bases = vec![0, 1, u64::MAX, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];
    for p in &case.policies {
        for r in &p.rules {
            for c in &r.conditions {
                bases.push(c.value);
                if let Some(m) = c.mask {
                    bases.extend([m, c.value & m, !m]);
                }
            }
        }
    }
    for v in vectors {
        bases.extend(v.args);
    }
    let mut out = Vec::new();
    for b in bases {
        for d in [b.wrapping_sub(1), b, b.wrapping_add(1)] {
            out.extend([
                d,
                d & 0xffff_ffff,
                d | 0xffff_ffff_0000_0000,
                d ^ 0x8000_0000,
                (d & 0xffff_ffff) | 1 << 32,
            ]);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Compares libseccomp's own program with our policy (`evaluate`) and our
/// programs on generated calls of every covered architecture (and one
/// foreign one): numbers at and around every syscall libseccomp's filter
/// names, arguments swept over the interesting values. Returns the number
/// of calls compared.
fn differential(
    case: &Case,
    built: &[Built],
    theirs: &[bpf_asm::SockFilter],
    pfc: &str,
    vectors: &[Vector],
    tally: &mut Tally,
) -> usize {
    let seed = tally.seed
        ^ case
            .name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut rng = testkit::Rng::new(seed);
    let theirs = Prepared::new(theirs)
        .unwrap_or_else(|e| panic!("{}: libseccomp's program rejected: {e:?}", case.name));
    let named = pfc_syscalls(pfc);
    let pseudo: BTreeSet<u32> = pfc
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# filter for syscall "))
        .filter_map(|l| {
            let open = l.find(" (")?;
            let close = l[open..].find(')')? + open;
            l[open + 2..close].parse::<u64>().ok()
        })
        .filter(|&nr| nr >= 0x8000_0000)
        .map(|nr| nr as u32)
        .collect();
    let values = interesting_values(case, vectors);
    let mut arches: Vec<(Arch, usize)> = Vec::new();
    for (i, p) in case.policies.iter().enumerate() {
        arches.extend(p.arches.iter().map(|&a| (a, i)));
    }
    let foreign = Arch::ALL
        .into_iter()
        .find(|a| !named.contains_key(a.name()))
        .expect("an arch libseccomp's filter does not cover");
    arches.push((foreign, 0));
    let mut compared = 0;
    for (arch, idx) in arches {
        let b = &built[idx];
        let mut nrs: Vec<u32> = vec![0, 1, u32::MAX, 0x7fff_ffff];
        let (_, last) = arch.syscall_range();
        nrs.extend([last, last + 1]);
        nrs.extend(case.stand_ins.iter().flat_map(|&n| [n, n + 1]));
        if let Some(set) = named.get(arch.name()) {
            for &nr in set {
                nrs.extend([nr.wrapping_sub(1), nr, nr + 1]);
            }
        }
        if arch == Arch::X86_64 && !case.x32_in_filter {
            nrs.extend([0x4000_0000, 0x4000_0001, 0x4000_0000 + 15]);
        }
        nrs.retain(|nr| !pseudo.contains(nr));
        if arch == Arch::X86_64 && case.x32_in_filter {
            nrs.retain(|&nr| nr & 0x4000_0000 == 0 || nr == u32::MAX);
        }
        nrs.sort_unstable();
        nrs.dedup();
        for nr in nrs {
            let ours_nr = if b.resolved.arch(arch.audit_arch()).is_some() {
                relabel(case, &b.resolved, arch, nr)
            } else {
                nr
            };
            let mut inputs: Vec<[u64; 6]> = (0..8)
                .map(|_| core::array::from_fn(|_| rng.pick(&values)))
                .collect();
            for i in 0..6 {
                for &x in &values {
                    let mut args: [u64; 6] = core::array::from_fn(|_| rng.pick(&values));
                    args[i] = x;
                    inputs.push(args);
                }
            }
            for args in inputs {
                let data = SeccompData {
                    nr: nr as i32,
                    arch: arch.audit_arch(),
                    instruction_pointer: 0,
                    args,
                };
                let want = theirs.run(&data, arch.endian()).ret;
                let policy = evaluate(&b.resolved, arch.audit_arch(), ours_nr, &args).to_ret();
                if policy != want {
                    tally.disagreements.push(format!(
                        "{} (seed {seed:#x}): evaluate: {} nr {nr} (as {ours_nr}) args {args:x?}: {policy:#x}, libseccomp's program {want:#x}",
                        case.name,
                        arch.name()
                    ));
                }
                let ours = SeccompData {
                    nr: ours_nr as i32,
                    ..data
                };
                for (layout, prog) in &b.programs {
                    let got = prog.run(&ours, arch.endian()).ret;
                    if got != want {
                        tally.disagreements.push(format!(
                            "{} (seed {seed:#x}): {layout} program: {} nr {nr} (as {ours_nr}) args {args:x?}: {got:#x}, libseccomp's program {want:#x}",
                            case.name,
                            arch.name()
                        ));
                    }
                }
                compared += 1;
            }
        }
    }
    compared
}

/// Tests expressed, and vectors checked, when the corpus is present. Fixed
/// so that a test silently dropping out of the check fails.
const EXPECTED_EXPRESSED: usize = 42;
const EXPECTED_VECTORS: usize = 7471;

#[test]
fn libseccomp_sim_tests_agree_with_evaluate_and_every_layout() {
    let Some(json) = testkit::corpus::json("libseccomp-tests/flattened_bpf_sim_vectors.json")
    else {
        return;
    };
    let mut by_test: BTreeMap<String, Vec<Vector>> = BTreeMap::new();
    for v in json["vectors"].as_array().expect("vectors") {
        by_test
            .entry(v["test"].as_str().expect("test").to_string())
            .or_default()
            .push(parse_vector(v));
    }
    let all_tests: Vec<String> = json["programs"]
        .as_object()
        .expect("programs")
        .keys()
        .cloned()
        .collect();

    let cases = cases();
    let mut tally = Tally {
        seed: testkit::seed("libseccomp_sim_tests_agree_with_evaluate", 0x11b5_ecc0),
        ..Tally::default()
    };
    let mut expressed = 0;
    for name in &all_tests {
        let vectors = by_test.get(name).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(c) = cases.iter().find(|c| c.name == name) {
            let before = tally.checked;
            check_case(c, &json["programs"][name.as_str()], vectors, &mut tally);
            println!(
                "{name}: {} of {} vectors checked",
                tally.checked - before,
                vectors.len()
            );
            expressed += 1;
        } else if let Some((_, why)) = NOT_EXPRESSED.iter().find(|(n, _)| n == name) {
            println!("{name}: skipped ({} vectors): {why}", vectors.len());
        } else {
            panic!("{name}: neither expressed nor listed as not expressible");
        }
    }
    for c in &cases {
        assert!(
            all_tests.iter().any(|t| t == c.name),
            "{}: no such test in the corpus",
            c.name
        );
    }
    println!(
        "expressed {expressed} of {} sim tests, {} not expressed; {} vectors checked",
        all_tests.len(),
        all_tests.len() - expressed,
        tally.checked
    );
    println!(
        "{} generated calls compared with libseccomp's own programs",
        tally.generated
    );
    for (why, count) in &tally.skipped {
        println!("vectors skipped: {count} on {why}");
    }
    if !tally.disagreements.is_empty() {
        let mut per_test: BTreeMap<&str, usize> = BTreeMap::new();
        for d in &tally.disagreements {
            let test = d.split([':', ' ']).next().unwrap_or("");
            let seen = per_test.entry(test).or_default();
            *seen += 1;
            if *seen <= 3 {
                println!("DISAGREEMENT {d}");
            }
        }
        for (test, count) in &per_test {
            println!("{test}: {count} disagreements");
        }
        panic!(
            "{} disagreements with libseccomp",
            tally.disagreements.len()
        );
    }
    assert_eq!(expressed, EXPECTED_EXPRESSED, "tests expressed");
    assert_eq!(tally.checked, EXPECTED_VECTORS, "vectors checked");
    assert!(
        tally.generated > 1_000_000,
        "only {} generated calls compared",
        tally.generated
    );
}
