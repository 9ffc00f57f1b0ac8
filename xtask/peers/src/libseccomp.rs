//! libseccomp (the system's `libseccomp.so.2`), opened at run time with
//! `dlopen`, behind a safe API: [`Rules`] in, a program out.
//!
//! Every `unsafe` block of this crate is in this module, each with its own
//! SAFETY argument: the symbol lookups, and one private method per
//! libseccomp call on a filter context (`Ctx`) that is released exactly
//! once, when it is dropped.

use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::{AsRawFd, FromRawFd};
use std::ptr::NonNull;

use bpf_asm::seccomp::{AUDIT_ARCH_NAMES, AUDIT_ARCH_X86_64};
use bpf_asm::{Arch, SockFilter, BPF_JEQ, BPF_JMP, BPF_K};

use crate::Error;

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
const SCMP_ARCH_X32: u32 = AUDIT_ARCH_X86_64 & !0x8000_0000;

/// Which syscall names become libseccomp rules.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Names {
    /// Only names with a number on the native architecture (x86_64).
    Native,
    /// Every name libseccomp knows, also those of other architectures only
    /// (as negative pseudo numbers, which libseccomp turns into each
    /// architecture's own number), as libseccomp-golang's
    /// `GetSyscallFromName` (runc) does.
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

/// `enum scmp_compare`: how an argument is compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(i32)]
pub enum ScmpCompare {
    /// `SCMP_CMP_NE`: `arg != a`.
    Ne = 1,
    /// `SCMP_CMP_LT`: `arg < a`.
    Lt = 2,
    /// `SCMP_CMP_LE`: `arg <= a`.
    Le = 3,
    /// `SCMP_CMP_EQ`: `arg == a`.
    Eq = 4,
    /// `SCMP_CMP_GE`: `arg >= a`.
    Ge = 5,
    /// `SCMP_CMP_GT`: `arg > a`.
    Gt = 6,
    /// `SCMP_CMP_MASKED_EQ`: `arg & a == b`.
    MaskedEq = 7,
}

impl ScmpCompare {
    /// The operator of an OCI name (`SCMP_CMP_EQ`, ...).
    pub fn from_oci(name: &str) -> Option<ScmpCompare> {
        Some(match name {
            "SCMP_CMP_NE" => ScmpCompare::Ne,
            "SCMP_CMP_LT" => ScmpCompare::Lt,
            "SCMP_CMP_LE" => ScmpCompare::Le,
            "SCMP_CMP_EQ" => ScmpCompare::Eq,
            "SCMP_CMP_GE" => ScmpCompare::Ge,
            "SCMP_CMP_GT" => ScmpCompare::Gt,
            "SCMP_CMP_MASKED_EQ" => ScmpCompare::MaskedEq,
            _ => return None,
        })
    }
}

/// `struct scmp_arg_cmp`: one argument comparison of a rule.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ScmpArgCmp {
    /// Argument index (0–5).
    pub arg: c_uint,
    /// `enum scmp_compare` (see [`ScmpCompare`]).
    pub op: c_int,
    /// First datum.
    pub datum_a: u64,
    /// Second datum (`MASKED_EQ`: the value; the first is the mask).
    pub datum_b: u64,
}

impl ScmpArgCmp {
    /// `SCMP_CMP(arg, op, a, b)`.
    pub fn new(arg: u32, op: ScmpCompare, datum_a: u64, datum_b: u64) -> ScmpArgCmp {
        ScmpArgCmp {
            arg,
            op: op as c_int,
            datum_a,
            datum_b,
        }
    }
}

/// One `seccomp_rule_add_array` call.
#[derive(Clone, Debug)]
pub struct RuleCall {
    /// The syscall name (for messages).
    pub name: String,
    /// The action (`SCMP_ACT_*` value).
    pub action: u32,
    /// The syscall number as libseccomp knows it (negative: a pseudo number
    /// it maps per architecture).
    pub nr: c_int,
    /// The argument comparisons (all must hold).
    pub args: Vec<ScmpArgCmp>,
}

/// A filter as the libseccomp calls that build it.
#[derive(Clone, Debug)]
pub struct Rules {
    /// The default action (`seccomp_init`).
    pub default: u32,
    /// The rules, in the order they are added.
    pub rules: Vec<RuleCall>,
}

impl Rules {
    /// No rule yet; `default` for every call.
    pub fn new(default: u32) -> Rules {
        Rules {
            default,
            rules: Vec::new(),
        }
    }

    /// Adds one rule: `action` for syscall `nr` (named `name` in messages)
    /// when every comparison of `args` holds.
    pub fn push(&mut self, name: &str, action: u32, nr: i32, args: &[ScmpArgCmp]) {
        self.rules.push(RuleCall {
            name: name.to_string(),
            action,
            nr,
            args: args.to_vec(),
        });
    }
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

/// The libseccomp functions used here (the library stays loaded for the
/// life of the process: it is never `dlclose`d).
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

impl std::fmt::Debug for Libseccomp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Libseccomp(libseccomp.so.2)")
    }
}

impl Libseccomp {
    /// Opens `libseccomp.so.2`; `None` when it is not installed (or lacks
    /// one of the functions used here).
    pub fn open() -> Option<Libseccomp> {
        let lib = CString::new("libseccomp.so.2").ok()?;
        // SAFETY: dlopen reads a valid NUL-terminated name; running the
        // library's initialisers is what loading libseccomp means.
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
        let (init, arch_add, arch_remove, arch_native) = (
            sym("seccomp_init")?,
            sym("seccomp_arch_add")?,
            sym("seccomp_arch_remove")?,
            sym("seccomp_arch_native")?,
        );
        let (rule_add_array, attr_set, export_bpf, release, resolve_name) = (
            sym("seccomp_rule_add_array")?,
            sym("seccomp_attr_set")?,
            sym("seccomp_export_bpf")?,
            sym("seccomp_release")?,
            sym("seccomp_syscall_resolve_name")?,
        );
        // SAFETY: each pointer is the address of the libseccomp function of
        // that name, whose C signature (seccomp.h, 2.x) is exactly the
        // function type it becomes; the library is never unloaded, so the
        // pointers stay valid.
        unsafe {
            Some(Libseccomp {
                init: std::mem::transmute::<*mut c_void, InitFn>(init),
                arch_add: std::mem::transmute::<*mut c_void, ArchAddFn>(arch_add),
                arch_remove: std::mem::transmute::<*mut c_void, ArchAddFn>(arch_remove),
                arch_native: std::mem::transmute::<*mut c_void, ArchNativeFn>(arch_native),
                rule_add_array: std::mem::transmute::<*mut c_void, RuleAddArrayFn>(rule_add_array),
                attr_set: std::mem::transmute::<*mut c_void, AttrSetFn>(attr_set),
                export_bpf: std::mem::transmute::<*mut c_void, ExportFn>(export_bpf),
                release: std::mem::transmute::<*mut c_void, ReleaseFn>(release),
                resolve_name: std::mem::transmute::<*mut c_void, ResolveFn>(resolve_name),
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
        // SAFETY: a valid C string, read during the call only; the lookup
        // touches no other state.
        let nr = unsafe { (self.resolve_name)(c.as_ptr()) };
        match names {
            Names::Native => (nr >= 0).then_some(nr),
            Names::Known => (nr != NR_SCMP_ERROR).then_some(nr),
        }
    }

    /// The architecture libseccomp considers native (`AUDIT_ARCH_*`).
    pub fn native_arch(&self) -> u32 {
        // SAFETY: no arguments; returns a constant of the build.
        unsafe { (self.arch_native)() }
    }

    /// Builds the filter of `rules` with optimisation level `optimize`
    /// (1: linear, 2: binary tree), covering exactly the architectures
    /// `arches`, and returns the program.
    pub fn build(
        &self,
        rules: &Rules,
        optimize: u32,
        arches: &[Arch],
    ) -> Result<Vec<SockFilter>, Error> {
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
    pub fn build_for(&self, rules: &Rules, target: &Target<'_>) -> Result<Vec<SockFilter>, Error> {
        let arches = target.arches;
        if arches.is_empty() {
            return Err(Error::NoArch);
        }
        let ctx = Ctx::new(self, rules.default)?;
        for a in arches {
            let rc = ctx.arch_add(a.audit_arch());
            if rc != 0 && rc != EEXIST {
                return Err(call(format!("seccomp_arch_add({})", a.name()), rc));
            }
        }
        let native = self.native_arch();
        if !arches.iter().any(|a| a.audit_arch() == native) {
            let rc = ctx.arch_remove(native);
            if rc != 0 {
                return Err(call(format!("seccomp_arch_remove({native:#x})"), rc));
            }
        }
        if target.x32 {
            let rc = ctx.arch_add(SCMP_ARCH_X32);
            if rc != 0 && rc != EEXIST {
                return Err(call("seccomp_arch_add(x32)".into(), rc));
            }
        }
        if let Some(optimize) = target.optimize {
            let rc = ctx.attr_set(SCMP_FLTATR_CTL_OPTIMIZE, optimize);
            if rc != 0 {
                return Err(call(
                    format!(
                        "seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE, {optimize}) \
                         (libseccomp older than 2.5?)"
                    ),
                    rc,
                ));
            }
        }
        for r in &rules.rules {
            let rc = ctx.rule_add(r);
            // -EEXIST: the same rule again (runc ignores it too).
            if rc != 0 && rc != EEXIST {
                return Err(call(format!("{}: seccomp_rule_add_array", r.name), rc));
            }
        }
        let prog = ctx.export()?;
        // With x32, syscall numbers (bit 30 set) look like architecture
        // tokens to `compared_arches`: no check then.
        if !target.x32 {
            let mut want: Vec<u32> = arches.iter().map(|a| a.audit_arch()).collect();
            want.sort_unstable();
            want.dedup();
            let got = compared_arches(&prog);
            if got != want {
                return Err(Error::Arches { got, want });
            }
        }
        Ok(prog)
    }
}

fn call(call: String, rc: c_int) -> Error {
    Error::Call { call, rc }
}

/// A live `scmp_filter_ctx`, released when dropped.
struct Ctx<'l> {
    lib: &'l Libseccomp,
    ptr: NonNull<c_void>,
}

impl<'l> Ctx<'l> {
    /// `seccomp_init(default)`.
    fn new(lib: &'l Libseccomp, default: u32) -> Result<Ctx<'l>, Error> {
        // SAFETY: takes a plain action value (libseccomp validates it and
        // returns NULL when invalid); the context it returns is owned by the
        // `Ctx` built from it and released once, in `drop`.
        let ptr = unsafe { (lib.init)(default) };
        NonNull::new(ptr)
            .map(|ptr| Ctx { lib, ptr })
            .ok_or_else(|| call(format!("seccomp_init({default:#x})"), 0))
    }

    fn arch_add(&self, token: u32) -> c_int {
        // SAFETY: `ptr` is a live context; the token is a plain integer
        // libseccomp validates.
        unsafe { (self.lib.arch_add)(self.ptr.as_ptr(), token) }
    }

    fn arch_remove(&self, token: u32) -> c_int {
        // SAFETY: as `arch_add`.
        unsafe { (self.lib.arch_remove)(self.ptr.as_ptr(), token) }
    }

    fn attr_set(&self, attr: c_int, value: u32) -> c_int {
        // SAFETY: `ptr` is a live context; attribute and value are plain
        // integers libseccomp validates.
        unsafe { (self.lib.attr_set)(self.ptr.as_ptr(), attr, value) }
    }

    fn rule_add(&self, r: &RuleCall) -> c_int {
        let Ok(n) = c_uint::try_from(r.args.len()) else {
            return -22; // -EINVAL, as libseccomp says for too many arguments
        };
        // SAFETY: `ptr` is a live context; `args` points to `n` initialised
        // `#[repr(C)] struct scmp_arg_cmp`s that outlive the call, which
        // only reads them (libseccomp copies what it keeps).
        unsafe { (self.lib.rule_add_array)(self.ptr.as_ptr(), r.action, r.nr, n, r.args.as_ptr()) }
    }

    /// `seccomp_export_bpf` into a memfd, read back as a program.
    fn export(&self) -> Result<Vec<SockFilter>, Error> {
        let io = |source| Error::Io {
            what: "reading the program libseccomp exported".into(),
            source,
        };
        let name = c"peers-libseccomp-export";
        // SAFETY: a valid C string; no flags; returns a new descriptor or -1.
        let fd = unsafe { memfd_create(name.as_ptr(), 0) };
        if fd < 0 {
            return Err(io(std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns; the
        // `File` closes it once.
        let mut file = unsafe { File::from_raw_fd(fd) };
        // SAFETY: `ptr` is a live context; the descriptor is open for the
        // whole call (`file` is alive) and libseccomp only writes to it.
        let rc = unsafe { (self.lib.export_bpf)(self.ptr.as_ptr(), file.as_raw_fd()) };
        if rc != 0 {
            return Err(call("seccomp_export_bpf".into(), rc));
        }
        let mut bytes = Vec::new();
        file.rewind().map_err(io)?;
        file.read_to_end(&mut bytes).map_err(io)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| SockFilter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect())
    }
}

impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `seccomp_init` and is released only here,
        // once; nothing uses it afterwards.
        unsafe { (self.lib.release)(self.ptr.as_ptr()) }
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
