//! Docker's default profile as real filters for the emulator bench: the
//! ones the system's libseccomp (`libseccomp.so.2`, opened with `dlopen`)
//! builds for it the way Docker and runc do, and the ones our compiler
//! builds. Follows `xtask/src/bench_peers/libseccomp.rs`.

use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::Path;

use bpf_asm::policy::load::oci::DOCKER_DEFAULT_CAPS;
use bpf_asm::seccomp::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use bpf_asm::SockFilter;
use serde_json::Value;

extern "C" {
    fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn memfd_create(name: *const c_char, flags: c_uint) -> c_int;
}

/// `dlopen` flag: resolve every symbol now.
const RTLD_NOW: c_int = 2;
/// `seccomp_attr_set` attribute: optimisation level (1 linear, 2 binary tree).
const SCMP_FLTATR_CTL_OPTIMIZE: c_int = 8;
/// `SCMP_ARCH_X86` (`AUDIT_ARCH_I386`).
const SCMP_ARCH_X86: u32 = AUDIT_ARCH_I386;
/// `SCMP_ARCH_X32`: `EM_X86_64 | __AUDIT_ARCH_LE` (libseccomp's own token;
/// x32 calls reach the filter as x86_64 ones with bit 30 set).
const SCMP_ARCH_X32: u32 = AUDIT_ARCH_X86_64 & !0x8000_0000;

/// `struct scmp_arg_cmp`.
#[repr(C)]
#[derive(Clone, Copy)]
struct ScmpArgCmp {
    arg: c_uint,
    op: c_int,
    datum_a: u64,
    datum_b: u64,
}

type InitFn = unsafe extern "C" fn(u32) -> *mut c_void;
type ArchAddFn = unsafe extern "C" fn(*mut c_void, u32) -> c_int;
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

    fn resolve(&self, name: &str) -> Option<i32> {
        let c = CString::new(name).ok()?;
        // SAFETY: valid C string; a pure table lookup.
        let nr = unsafe { (self.resolve_name)(c.as_ptr()) };
        (nr >= 0).then_some(nr)
    }

    /// Builds Docker's x86_64 filter (with the x86 and x32 sub-architectures,
    /// as Docker's `archMap` asks) at optimisation level `optimize`
    /// (1: linear, 2: binary tree).
    pub fn docker_filter(&self, profile: &Path, optimize: u32) -> Result<Vec<SockFilter>, String> {
        let text = std::fs::read_to_string(profile).map_err(|e| e.to_string())?;
        let profile: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let (default, rules) = self.rules(&profile)?;
        // SAFETY (all calls below): libseccomp's C API used as documented;
        // `ctx` is live until `seccomp_release`; the argument arrays outlive
        // the calls; `fd` is a memfd we own.
        let ctx = unsafe { (self.init)(default) };
        if ctx.is_null() {
            return Err("seccomp_init failed".into());
        }
        let result = (|| -> Result<Vec<SockFilter>, String> {
            for arch in [SCMP_ARCH_X86, SCMP_ARCH_X32] {
                let rc = unsafe { (self.arch_add)(ctx, arch) };
                if rc != 0 {
                    return Err(format!("seccomp_arch_add({arch:#x}) returned {rc}"));
                }
            }
            let rc = unsafe { (self.attr_set)(ctx, SCMP_FLTATR_CTL_OPTIMIZE, optimize) };
            if rc != 0 {
                return Err(format!(
                    "seccomp_attr_set(OPTIMIZE, {optimize}) returned {rc}"
                ));
            }
            for (action, nr, args) in &rules {
                let rc = unsafe {
                    (self.rule_add_array)(ctx, *action, *nr, args.len() as c_uint, args.as_ptr())
                };
                // -EEXIST: the same rule again (runc ignores it too).
                if rc != 0 && rc != -17 {
                    return Err(format!("seccomp_rule_add_array({nr}) returned {rc}"));
                }
            }
            let name = CString::new("emulator-bench").map_err(|e| e.to_string())?;
            let fd = unsafe { memfd_create(name.as_ptr(), 0) };
            if fd < 0 {
                return Err("memfd_create failed".into());
            }
            // SAFETY: `fd` is a fresh descriptor owned by nobody else.
            let mut file = unsafe { File::from_raw_fd(fd) };
            let rc = unsafe { (self.export_bpf)(ctx, file.as_raw_fd()) };
            if rc != 0 {
                return Err(format!("seccomp_export_bpf returned {rc}"));
            }
            let mut bytes = Vec::new();
            file.rewind().map_err(|e| e.to_string())?;
            file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
            Ok(bytes
                .chunks_exact(8)
                .map(|c| SockFilter::from_ne_bytes(c.try_into().expect("8 bytes")))
                .collect())
        })();
        unsafe { (self.release)(ctx) };
        result
    }

    /// runc's rules for the profile on amd64 with Docker's default
    /// capabilities (kernel 6.1, as the other benches load it): entries
    /// whose action is the default are skipped, unknown names too, and an
    /// entry with two conditions on one argument becomes one rule per
    /// condition.
    #[allow(clippy::type_complexity)]
    fn rules(&self, profile: &Value) -> Result<(u32, Vec<(u32, c_int, Vec<ScmpArgCmp>)>), String> {
        let caps: Vec<String> = DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
        let default = action(
            profile["defaultAction"].as_str().unwrap_or(""),
            profile["defaultErrnoRet"].as_u64(),
        )?;
        let mut rules = Vec::new();
        for e in profile["syscalls"].as_array().into_iter().flatten() {
            if !kept(e, &caps, (6, 1)) {
                continue;
            }
            let act = action(e["action"].as_str().unwrap_or(""), e["errnoRet"].as_u64())?;
            if act == default {
                continue;
            }
            let mut args = Vec::new();
            for a in e["args"].as_array().into_iter().flatten() {
                args.push(ScmpArgCmp {
                    arg: a["index"].as_u64().ok_or("argument without index")? as c_uint,
                    op: op(a["op"].as_str().unwrap_or(""))?,
                    datum_a: a["value"].as_u64().ok_or("argument without value")?,
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
            for name in strs(&e["names"]) {
                let Some(nr) = self.resolve(&name) else {
                    continue;
                };
                for g in &groups {
                    rules.push((act, nr, g.to_vec()));
                }
            }
        }
        Ok((default, rules))
    }
}

/// runc's `getAction`.
fn action(name: &str, errno: Option<u64>) -> Result<u32, String> {
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
        other => return Err(format!("unknown action {other}")),
    })
}

/// `enum scmp_compare` of an OCI operator name.
fn op(name: &str) -> Result<c_int, String> {
    Ok(match name {
        "SCMP_CMP_NE" => 1,
        "SCMP_CMP_LT" => 2,
        "SCMP_CMP_LE" => 3,
        "SCMP_CMP_EQ" => 4,
        "SCMP_CMP_GE" => 5,
        "SCMP_CMP_GT" => 6,
        "SCMP_CMP_MASKED_EQ" => 7,
        other => return Err(format!("unknown operator {other}")),
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
