//! libseccomp (the system's `libseccomp.so.2`), opened at run time with
//! `dlopen` so that nothing needs it at build time, and an OCI/Docker profile
//! turned into libseccomp rules the way Docker and runc do it (moby's
//! `includes`/`excludes` filtering, runc's `getAction` and `matchCall`).
//!
//! Self-contained (no `crate::` paths): the emulator bench includes this
//! file too (`benches/benches/emulator_peers/mod.rs`).

use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::{AsRawFd, FromRawFd};

use bpf_asm::seccomp::AUDIT_ARCH_NAMES;
use bpf_asm::{Arch, SockFilter, BPF_JEQ, BPF_JMP, BPF_K};
use serde_json::Value;

/// Errors of this module (the same type as `xtask`'s `DynError`).
type DynError = Box<dyn std::error::Error + Send + Sync>;

extern "C" {
    fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn memfd_create(name: *const c_char, flags: c_uint) -> c_int;
}

/// `dlopen` flag: resolve every symbol now.
const RTLD_NOW: c_int = 2;
/// `seccomp_attr_set` attribute: optimisation level (1 linear, 2 binary tree).
const SCMP_FLTATR_CTL_OPTIMIZE: c_int = 8;
/// `-EEXIST`, as libseccomp returns it.
const EEXIST: c_int = -17;
/// `__NR_SCMP_ERROR`: what `seccomp_syscall_resolve_name` returns for a
/// name it does not know.
const NR_SCMP_ERROR: c_int = -1;
/// `SCMP_ARCH_X32`: `EM_X86_64 | __AUDIT_ARCH_LE`, libseccomp's own token
/// (x32 calls reach the filter as x86_64 ones with bit 30 set).
const SCMP_ARCH_X32: u32 = bpf_asm::seccomp::AUDIT_ARCH_X86_64 & !0x8000_0000;

/// Which syscall names become libseccomp rules.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Names {
    /// Only names with a number on the native architecture (x86_64).
    Native,
    /// Every name libseccomp knows, also those of other architectures only
    /// (as negative pseudo numbers, which libseccomp turns into each
    /// architecture's own number), as libseccomp-golang's
    /// `GetSyscallFromName` (runc) does. Used by the libseccomp oracle
    /// test (`oracle_tests.rs`).
    #[cfg_attr(not(test), allow(dead_code))]
    Known,
}

/// The architectures and optimisation of one filter build.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The architectures covered, exactly (`SCMP_ARCH_*` tokens are
    /// `AUDIT_ARCH_*` values; the native one `seccomp_init` adds is removed
    /// when not among them).
    pub arches: &'a [Arch],
    /// Also add libseccomp's x32 sub-architecture (as Docker's `archMap`
    /// does for amd64).
    pub x32: bool,
    /// `SCMP_FLTATR_CTL_OPTIMIZE` (1: linear, 2: binary tree); `None`
    /// leaves libseccomp's default.
    pub optimize: Option<u32>,
}

/// `struct scmp_arg_cmp`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ScmpArgCmp {
    /// Argument index.
    pub arg: c_uint,
    /// `enum scmp_compare` (1 `NE` … 7 `MASKED_EQ`).
    pub op: c_int,
    /// First datum.
    pub datum_a: u64,
    /// Second datum (`MASKED_EQ`: the value; the first is the mask).
    pub datum_b: u64,
}

type InitFn = unsafe extern "C" fn(u32) -> *mut c_void;
type ArchAddFn = unsafe extern "C" fn(*mut c_void, u32) -> c_int;
type ArchNativeFn = unsafe extern "C" fn() -> u32;
type RuleAddArrayFn =
    unsafe extern "C" fn(*mut c_void, u32, c_int, c_uint, *const ScmpArgCmp) -> c_int;
type AttrSetFn = unsafe extern "C" fn(*mut c_void, c_int, u32) -> c_int;
type ExportFn = unsafe extern "C" fn(*const c_void, c_int) -> c_int;
type ReleaseFn = unsafe extern "C" fn(*mut c_void);
type ResolveFn = unsafe extern "C" fn(*const c_char) -> c_int;

/// The libseccomp functions used here.
pub struct Libseccomp {
    init: InitFn,
    arch_add: ArchAddFn,
    arch_remove: ArchAddFn,
    arch_native: ArchNativeFn,
    rule_add_array: RuleAddArrayFn,
    attr_set: AttrSetFn,
    export_bpf: ExportFn,
    release: ReleaseFn,
    resolve_name: ResolveFn,
}

impl Libseccomp {
    /// Opens `libseccomp.so.2`; `None` when it is not installed.
    pub fn open() -> Option<Libseccomp> {
        let lib = CString::new("libseccomp.so.2").ok()?;
        // SAFETY: dlopen with a valid NUL-terminated name.
        let h = unsafe { dlopen(lib.as_ptr(), RTLD_NOW) };
        if h.is_null() {
            return None;
        }
        let sym = |name: &str| -> Option<*mut c_void> {
            let n = CString::new(name).ok()?;
            // SAFETY: `h` is a live handle (never closed), `n` a valid C string.
            let p = unsafe { dlsym(h, n.as_ptr()) };
            (!p.is_null()).then_some(p)
        };
        // SAFETY: these are libseccomp's documented functions with exactly
        // these C signatures (seccomp.h, 2.x); the handle stays open.
        unsafe {
            Some(Libseccomp {
                init: std::mem::transmute::<*mut c_void, InitFn>(sym("seccomp_init")?),
                arch_add: std::mem::transmute::<*mut c_void, ArchAddFn>(sym("seccomp_arch_add")?),
                arch_remove: std::mem::transmute::<*mut c_void, ArchAddFn>(sym(
                    "seccomp_arch_remove",
                )?),
                arch_native: std::mem::transmute::<*mut c_void, ArchNativeFn>(sym(
                    "seccomp_arch_native",
                )?),
                rule_add_array: std::mem::transmute::<*mut c_void, RuleAddArrayFn>(sym(
                    "seccomp_rule_add_array",
                )?),
                attr_set: std::mem::transmute::<*mut c_void, AttrSetFn>(sym("seccomp_attr_set")?),
                export_bpf: std::mem::transmute::<*mut c_void, ExportFn>(sym(
                    "seccomp_export_bpf",
                )?),
                release: std::mem::transmute::<*mut c_void, ReleaseFn>(sym("seccomp_release")?),
                resolve_name: std::mem::transmute::<*mut c_void, ResolveFn>(sym(
                    "seccomp_syscall_resolve_name",
                )?),
            })
        }
    }

    /// The native (x86_64) number libseccomp knows `name` by, if any.
    pub fn resolve(&self, name: &str) -> Option<i32> {
        self.number(name, Names::Native)
    }

    /// The number libseccomp knows `name` by, if `names` admits it.
    pub fn number(&self, name: &str, names: Names) -> Option<i32> {
        let c = CString::new(name).ok()?;
        // SAFETY: valid C string; a pure table lookup.
        let nr = unsafe { (self.resolve_name)(c.as_ptr()) };
        match names {
            Names::Native => (nr >= 0).then_some(nr),
            Names::Known => (nr != NR_SCMP_ERROR).then_some(nr),
        }
    }

    /// Builds the filter of `rules` with optimisation level `optimize`
    /// (1: linear, 2: binary tree), covering exactly the architectures
    /// `arches` (`SCMP_ARCH_*` tokens are `AUDIT_ARCH_*` values; the native
    /// one `seccomp_init` adds is removed when not among them), and returns
    /// the program.
    pub fn build(
        &self,
        rules: &Rules,
        optimize: u32,
        arches: &[Arch],
    ) -> Result<Vec<SockFilter>, DynError> {
        self.build_for(
            rules,
            &Target {
                arches,
                x32: false,
                optimize: Some(optimize),
            },
        )
    }

    /// Builds the filter of `rules` for `target` and returns the program.
    pub fn build_for(
        &self,
        rules: &Rules,
        target: &Target<'_>,
    ) -> Result<Vec<SockFilter>, DynError> {
        let arches = target.arches;
        if arches.is_empty() {
            return Err("no architecture to build the filter for".into());
        }
        // SAFETY (all calls below): libseccomp's C API used as documented;
        // `ctx` is live until `seccomp_release`; the argument arrays outlive
        // the calls; `fd` is a memfd we own.
        let ctx = unsafe { (self.init)(rules.default) };
        if ctx.is_null() {
            return Err("seccomp_init failed".into());
        }
        let result = (|| -> Result<Vec<SockFilter>, DynError> {
            for a in arches {
                let rc = unsafe { (self.arch_add)(ctx, a.audit_arch()) };
                if rc != 0 && rc != EEXIST {
                    return Err(format!("seccomp_arch_add({}) returned {rc}", a.name()).into());
                }
            }
            let native = unsafe { (self.arch_native)() };
            if !arches.iter().any(|a| a.audit_arch() == native) {
                let rc = unsafe { (self.arch_remove)(ctx, native) };
                if rc != 0 {
                    return Err(format!("seccomp_arch_remove({native:#x}) returned {rc}").into());
                }
            }
            if target.x32 {
                let rc = unsafe { (self.arch_add)(ctx, SCMP_ARCH_X32) };
                if rc != 0 && rc != EEXIST {
                    return Err(format!("seccomp_arch_add(x32) returned {rc}").into());
                }
            }
            if let Some(optimize) = target.optimize {
                let rc = unsafe { (self.attr_set)(ctx, SCMP_FLTATR_CTL_OPTIMIZE, optimize) };
                if rc != 0 {
                    return Err(format!(
                        "seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE, {optimize}) returned {rc} \
                         (libseccomp older than 2.5?)"
                    )
                    .into());
                }
            }
            for r in &rules.rules {
                let rc = unsafe {
                    (self.rule_add_array)(
                        ctx,
                        r.action,
                        r.nr,
                        r.args.len() as c_uint,
                        r.args.as_ptr(),
                    )
                };
                // -EEXIST: the same rule again (runc ignores it too).
                if rc != 0 && rc != EEXIST {
                    return Err(format!("{}: seccomp_rule_add_array returned {rc}", r.name).into());
                }
            }
            let name = CString::new("bench-peers").map_err(|e| e.to_string())?;
            let fd = unsafe { memfd_create(name.as_ptr(), 0) };
            if fd < 0 {
                return Err("memfd_create failed".into());
            }
            // SAFETY: `fd` is a fresh descriptor owned by nobody else.
            let mut file = unsafe { File::from_raw_fd(fd) };
            let rc = unsafe { (self.export_bpf)(ctx, file.as_raw_fd()) };
            if rc != 0 {
                return Err(format!("seccomp_export_bpf returned {rc}").into());
            }
            let mut bytes = Vec::new();
            file.rewind()?;
            file.read_to_end(&mut bytes)?;
            let prog: Vec<SockFilter> = bytes
                .chunks_exact(8)
                .map(|c| SockFilter {
                    code: u16::from_ne_bytes([c[0], c[1]]),
                    jt: c[2],
                    jf: c[3],
                    k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                })
                .collect();
            // With x32, syscall numbers (bit 30 set) look like
            // architecture tokens to `compared_arches`: no check then.
            if !target.x32 {
                let mut want: Vec<u32> = arches.iter().map(|a| a.audit_arch()).collect();
                want.sort_unstable();
                want.dedup();
                let got = compared_arches(&prog);
                if got != want {
                    return Err(format!(
                        "libseccomp built a filter for architectures {got:#x?}, not {want:#x?}"
                    )
                    .into());
                }
            }
            Ok(prog)
        })();
        unsafe { (self.release)(ctx) };
        result
    }
}

/// The `AUDIT_ARCH_*` values `prog` compares the accumulator with
/// (`jeq #k`), sorted, without repeats: the architectures a libseccomp
/// filter checks for. Only values with the 64-bit or little-endian flag
/// count (x86_64 and i386 have one): the 32-bit big-endian ones are small
/// numbers that syscall numbers and arguments are also compared with.
pub fn compared_arches(prog: &[SockFilter]) -> Vec<u32> {
    const FLAGS: u32 = 0xc000_0000;
    let mut arches: Vec<u32> = prog
        .iter()
        .filter(|f| f.code == BPF_JMP | BPF_JEQ | BPF_K && f.k & FLAGS != 0)
        .map(|f| f.k)
        .filter(|k| AUDIT_ARCH_NAMES.iter().any(|(_, v)| v == k))
        .collect();
    arches.sort_unstable();
    arches.dedup();
    arches
}

/// One `seccomp_rule_add_array` call.
#[derive(Clone, Debug)]
pub struct RuleCall {
    /// The syscall name (for messages).
    pub name: String,
    /// The action (`SCMP_ACT_*` value).
    pub action: u32,
    /// The native syscall number.
    pub nr: c_int,
    /// The argument comparisons (all must hold).
    pub args: Vec<ScmpArgCmp>,
}

/// A profile as libseccomp rules.
#[derive(Clone, Debug)]
pub struct Rules {
    /// The default action.
    pub default: u32,
    /// The rules in profile order.
    pub rules: Vec<RuleCall>,
}

/// runc's `getAction`: an OCI action name (and `errnoRet`) as a return value.
fn action(name: &str, errno: Option<u64>) -> Result<u32, DynError> {
    let data = errno.unwrap_or(1) as u32 & 0xffff;
    Ok(match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => 0,
        "SCMP_ACT_KILL_PROCESS" => 0x8000_0000,
        "SCMP_ACT_TRAP" => 0x0003_0000,
        "SCMP_ACT_ERRNO" => 0x0005_0000 | data,
        "SCMP_ACT_TRACE" => 0x7ff0_0000 | data,
        "SCMP_ACT_ALLOW" => 0x7fff_0000,
        "SCMP_ACT_LOG" => 0x7ffc_0000,
        "SCMP_ACT_NOTIFY" => 0x7fc0_0000,
        other => return Err(format!("unknown action {other}").into()),
    })
}

/// `enum scmp_compare` of an OCI operator name.
fn op(name: &str) -> Result<c_int, DynError> {
    Ok(match name {
        "SCMP_CMP_NE" => 1,
        "SCMP_CMP_LT" => 2,
        "SCMP_CMP_LE" => 3,
        "SCMP_CMP_EQ" => 4,
        "SCMP_CMP_GE" => 5,
        "SCMP_CMP_GT" => 6,
        "SCMP_CMP_MASKED_EQ" => 7,
        other => return Err(format!("unknown operator {other}").into()),
    })
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn kernel_at_least(v: &Value, kernel: (u32, u32)) -> Option<bool> {
    let s = v.as_str()?;
    let mut it = s.split('.');
    let want: (u32, u32) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    Some(kernel >= want)
}

/// moby's `includes`/`excludes` filter for native amd64.
fn kept(e: &Value, caps: &[String], kernel: (u32, u32)) -> bool {
    let x = &e["excludes"];
    if strs(&x["arches"]).iter().any(|a| a == "amd64")
        || strs(&x["caps"]).iter().any(|c| caps.contains(c))
        || kernel_at_least(&x["minKernel"], kernel) == Some(true)
    {
        return false;
    }
    let i = &e["includes"];
    let arches = strs(&i["arches"]);
    if !arches.is_empty() && !arches.iter().any(|a| a == "amd64") {
        return false;
    }
    strs(&i["caps"]).iter().all(|c| caps.contains(c))
        && kernel_at_least(&i["minKernel"], kernel) != Some(false)
}

/// The libseccomp rules runc adds for `profile` (native amd64) with
/// capabilities `caps` on kernel `kernel`: entries whose action is the
/// default are skipped, names outside `names` are skipped, and an entry
/// with two conditions on one argument becomes one rule per condition.
pub fn profile_rules(
    lib: &Libseccomp,
    profile: &Value,
    caps: &[String],
    kernel: (u32, u32),
    names: Names,
) -> Result<Rules, DynError> {
    let default = action(
        profile["defaultAction"]
            .as_str()
            .ok_or("profile without defaultAction")?,
        profile["defaultErrnoRet"].as_u64(),
    )?;
    let mut rules = Vec::new();
    for e in profile["syscalls"].as_array().into_iter().flatten() {
        if !kept(e, caps, kernel) {
            continue;
        }
        let act = action(e["action"].as_str().unwrap_or(""), e["errnoRet"].as_u64())?;
        if act == default {
            continue;
        }
        let mut entry_names = strs(&e["names"]);
        if let Some(n) = e["name"].as_str() {
            entry_names.push(n.to_string());
        }
        let mut args = Vec::new();
        for a in e["args"].as_array().into_iter().flatten() {
            args.push(ScmpArgCmp {
                arg: a["index"].as_u64().ok_or("argument without index")? as c_uint,
                op: op(a["op"].as_str().unwrap_or(""))?,
                datum_a: a["value"]
                    .as_u64()
                    .ok_or("argument without a numeric value")?,
                datum_b: a["valueTwo"].as_u64().unwrap_or(0),
            });
        }
        let mut counts = [0; 6];
        for a in &args {
            counts[(a.arg as usize).min(5)] += 1;
        }
        let groups: Vec<&[ScmpArgCmp]> = if counts.iter().any(|&c| c > 1) {
            args.chunks(1).collect()
        } else {
            vec![&args[..]]
        };
        for name in entry_names {
            let Some(nr) = lib.number(&name, names) else {
                continue;
            };
            for g in &groups {
                rules.push(RuleCall {
                    name: name.clone(),
                    action: act,
                    nr,
                    args: g.to_vec(),
                });
            }
        }
    }
    Ok(Rules { default, rules })
}
