//! Policy files: the native TOML format ([`toml`]), OCI runtime-spec /
//! Docker seccomp JSON ([`oci`]) and Firecracker's seccompiler JSON
//! ([`firecracker`]).
//!
//! [`load_file`] and [`load_str`] recognise the format (by extension, then by
//! content), build a [`Policy`] and check that it resolves on every listed
//! architecture, so a loaded policy always compiles. Every error is a
//! [`LoadError`] that says where (`file:line:column`, 1-based) and why.
//!
//! Numbers in conditions and test calls are decimal, `0x` hex, `0o` octal or
//! `0b` binary, may contain `_`, and may be negative: a negative number is
//! sign-extended to 64 bits (`-100` is `0xffff_ffff_ffff_ff9c`); 32-bit
//! comparisons (`:u32`, `:i32`) look at its low word.

use std::fmt;
use std::format;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use super::resolve::{resolve, ResolveError};
use super::{CmpOp, Condition, Policy, Width};
use crate::seccomp::Arch;

pub mod firecracker;
mod json_pos;
pub mod oci;
pub mod toml;

pub use oci::OciOptions;

/// Why a policy file could not be loaded, and where.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LoadError {
    /// The file name as given (or `<input>`).
    pub file: String,
    /// 1-based line of the offending value.
    pub line: usize,
    /// 1-based column (in characters) of the offending value.
    pub column: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for LoadError {}

/// The file formats [`load_str`] understands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// The native TOML format (see [`toml`]).
    Toml,
    /// OCI runtime-spec / Docker / Podman seccomp JSON (see [`oci`]).
    Oci,
    /// Firecracker's seccompiler JSON (see [`firecracker`]).
    Firecracker,
}

/// Choices that file formats leave to the loader.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct LoadOptions {
    /// Force a format instead of guessing it.
    pub format: Option<Format>,
    /// How an OCI/Docker profile is evaluated (capabilities, kernel, arch).
    pub oci: OciOptions,
    /// For Firecracker files: the filter (thread category) to load, e.g.
    /// `vmm`. Required when the file has more than one.
    pub filter: Option<String>,
}

/// Reads and loads a policy file (see the module docs).
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Policy, LoadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        file: name.clone(),
        line: 1,
        column: 1,
        message: format!("cannot read the file: {e}"),
    })?;
    let mut opts = opts.clone();
    if opts.format.is_none() {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext.eq_ignore_ascii_case("toml") {
            opts.format = Some(Format::Toml);
        }
    }
    load_str(&text, &name, &opts)
}

/// Loads a policy from text; `file` names it in errors.
pub fn load_str(text: &str, file: &str, opts: &LoadOptions) -> Result<Policy, LoadError> {
    let format = match opts.format {
        Some(f) => f,
        None => detect(text),
    };
    match format {
        Format::Toml => toml::load(text, file),
        Format::Oci => oci::load(text, file, &opts.oci),
        Format::Firecracker => firecracker::load(text, file, opts),
    }
}

/// Guesses the format of `text`: JSON with `defaultAction` is OCI, other JSON
/// is Firecracker, anything else TOML.
pub fn detect(text: &str) -> Format {
    if text.trim_start().starts_with('{') {
        if text.contains("\"defaultAction\"") || !text.contains("\"filter\"") {
            Format::Oci
        } else {
            Format::Firecracker
        }
    } else {
        Format::Toml
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// A `serde_json` syntax error as a [`LoadError`] (`serde_json` counts
/// columns in bytes, [`LoadError::column`] in characters).
pub(crate) fn json_syntax_error(file: &str, text: &str, e: &serde_json::Error) -> LoadError {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let message = e.to_string();
    let message = message.split(" at line ").next().unwrap_or("").to_string();
    error_at(
        file,
        text,
        line_start + e.column().saturating_sub(1),
        message,
    )
}

/// Builds a [`LoadError`] at byte `offset` of `text`.
pub(crate) fn error_at(file: &str, text: &str, offset: usize, message: String) -> LoadError {
    let (line, column) = line_col(text, offset);
    LoadError {
        file: file.to_string(),
        line,
        column,
        message,
    }
}

/// Resolves `policy` and turns a [`ResolveError`] into a message; `locate`
/// maps the error to a byte offset in the source.
pub(crate) fn check_resolves(
    policy: &Policy,
    file: &str,
    text: &str,
    locate: impl Fn(&ResolveError) -> usize,
) -> Result<(), LoadError> {
    match resolve(policy) {
        Ok(_) => Ok(()),
        Err(e) => Err(error_at(file, text, locate(&e), e.to_string())),
    }
}

/// An error inside a one-line expression, at a byte offset of the
/// expression.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ExprError {
    /// Byte offset in the expression.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Byte offsets of the parts of a parsed condition (for later errors).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ConditionParts {
    /// Offset of `argN`.
    pub arg: usize,
    /// Offset of the mask, if any.
    pub mask: Option<usize>,
    /// Offset of the value.
    pub value: usize,
}

/// Parses a number (see the module docs) into 64 bits, sign-extending
/// negative values.
pub fn parse_number(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t),
    };
    let (radix, digits) =
        if let Some(d) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, d)
        } else if let Some(d) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, d)
        } else if let Some(d) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, d)
        } else {
            (10, body)
        };
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() || digits.starts_with('_') {
        return Err(format!("`{t}` is not a number"));
    }
    let magnitude = u64::from_str_radix(&clean, radix).map_err(|e| {
        if matches!(e.kind(), core::num::IntErrorKind::PosOverflow) {
            format!("`{t}` does not fit in 64 bits")
        } else {
            format!("`{t}` is not a number (decimal, 0x hex, 0o octal or 0b binary)")
        }
    })?;
    if neg {
        if magnitude > 1u64 << 63 {
            return Err(format!("`{t}` is below the smallest 64-bit value -2^63"));
        }
        Ok(magnitude.wrapping_neg())
    } else {
        Ok(magnitude)
    }
}

/// Parses `argN[:WIDTH] [& MASK] OP VALUE` (see [`Condition`]). The width
/// defaults to `u64`.
pub fn parse_condition(s: &str) -> Result<(Condition, ConditionParts), ExprError> {
    let err = |offset: usize, message: String| ExprError { offset, message };
    let mut parts = ConditionParts::default();
    let lead = s.len() - s.trim_start().len();
    let rest = &s[lead..];
    parts.arg = lead;
    let Some(after_arg) = rest.strip_prefix("arg") else {
        return Err(err(
            lead,
            "a condition starts with `argN` (N from 0 to 5), e.g. `arg0 == 1`".into(),
        ));
    };
    let digits_len = after_arg.bytes().take_while(u8::is_ascii_digit).count();
    if digits_len == 0 {
        return Err(err(
            lead + 3,
            "expected the argument number after `arg` (0 to 5)".into(),
        ));
    }
    let arg: u8 = after_arg[..digits_len]
        .parse()
        .ok()
        .filter(|&a: &u8| a <= 5)
        .ok_or_else(|| {
            err(
                lead,
                format!(
                    "argument index {} out of range (syscalls have arguments 0 to 5)",
                    &after_arg[..digits_len]
                ),
            )
        })?;
    let mut pos = lead + 3 + digits_len;
    let mut width = Width::U64;
    let skip_ws = |p: usize| p + (s[p..].len() - s[p..].trim_start().len());
    pos = skip_ws(pos);
    if s[pos..].starts_with(':') {
        let wstart = skip_ws(pos + 1);
        let wlen = s[wstart..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let name = &s[wstart..wstart + wlen];
        width = Width::parse(name).ok_or_else(|| {
            err(
                wstart,
                format!("unknown width `{name}` (expected u64, u32, i32 or hi32)"),
            )
        })?;
        pos = skip_ws(wstart + wlen);
    }
    let mut mask = None;
    if s[pos..].starts_with('&') {
        let mstart = skip_ws(pos + 1);
        let mlen = s[mstart..]
            .find(|c: char| c.is_whitespace() || "=!<>".contains(c))
            .unwrap_or(s.len() - mstart);
        if mlen == 0 {
            return Err(err(mstart, "expected a mask after `&`".into()));
        }
        mask = Some(parse_number(&s[mstart..mstart + mlen]).map_err(|m| err(mstart, m))?);
        parts.mask = Some(mstart);
        pos = skip_ws(mstart + mlen);
    }
    let ops: [(&str, CmpOp); 6] = [
        ("==", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        ("<=", CmpOp::Le),
        (">=", CmpOp::Ge),
        ("<", CmpOp::Lt),
        (">", CmpOp::Gt),
    ];
    let Some(&(text, op)) = ops.iter().find(|(t, _)| s[pos..].starts_with(t)) else {
        return Err(err(
            pos,
            "expected an operator: ==, !=, <, <=, > or >=".into(),
        ));
    };
    if s[pos + text.len()..].starts_with(['=', '<', '>', '!']) {
        let oplen = s[pos..]
            .find(|c: char| !"=<>!".contains(c))
            .unwrap_or(s.len() - pos);
        return Err(err(
            pos,
            format!(
                "unknown operator `{}`: expected an operator: ==, !=, <, <=, > or >=",
                &s[pos..pos + oplen]
            ),
        ));
    }
    let vstart = skip_ws(pos + text.len());
    let vtext = s[vstart..].trim_end();
    if vtext.is_empty() {
        return Err(err(vstart, "expected a value after the operator".into()));
    }
    let value = parse_number(vtext).map_err(|m| err(vstart, m))?;
    parts.value = vstart;
    let cond = Condition {
        arg,
        width,
        mask,
        op,
        value,
    };
    if !super::resolve::value_fits(value, width) {
        let e = ResolveError::ValueOutOfRange {
            rule: 0,
            condition: 0,
            value,
            width,
        };
        return Err(err(vstart, e.to_string()));
    }
    if let (Some(m), Some(mpos)) = (mask, parts.mask) {
        if width.is_word() && m > u64::from(u32::MAX) {
            let e = ResolveError::MaskOutOfRange {
                rule: 0,
                condition: 0,
                mask: m,
                width,
            };
            return Err(err(mpos, e.to_string()));
        }
    }
    Ok((cond, parts))
}

/// A parsed test call: `[arch:]name(args...)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Call {
    /// The architecture prefix, if any.
    pub arch: Option<Arch>,
    /// The syscall name or number as written.
    pub syscall: String,
    /// Offset of the syscall name in the expression.
    pub syscall_offset: usize,
    /// The arguments (at most 6).
    pub args: Vec<u64>,
}

/// Parses a test call such as `openat(-100, 0, 1)` or
/// `i386:socketcall(1, 0)`.
pub fn parse_call(s: &str) -> Result<Call, ExprError> {
    let err = |offset: usize, message: String| ExprError { offset, message };
    let lead = s.len() - s.trim_start().len();
    let Some(open) = s.find('(') else {
        return Err(err(
            lead,
            "expected `name(args...)`, e.g. `openat(-100, 0, 1)`".into(),
        ));
    };
    let head = &s[..open];
    let (arch, name_off) = match head.find(':') {
        Some(colon) => {
            let a = head[..colon].trim();
            let arch = parse_arch(a).map_err(|m| err(lead, m))?;
            (Some(arch), colon + 1)
        }
        None => (None, 0),
    };
    let name_raw = &s[name_off..open];
    let name = name_raw.trim();
    let name_offset = name_off + (name_raw.len() - name_raw.trim_start().len());
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(err(name_offset, format!("`{name}` is not a syscall name")));
    }
    let body_end = match s.rfind(')') {
        Some(c) if c > open && s[c + 1..].trim().is_empty() => c,
        _ => {
            return Err(err(
                open,
                "unbalanced parentheses: expected `name(args...)`".into(),
            ))
        }
    };
    let mut args = Vec::new();
    let body = &s[open + 1..body_end];
    if !body.trim().is_empty() {
        let mut off = open + 1;
        for piece in body.split(',') {
            let p = off + (piece.len() - piece.trim_start().len());
            if args.len() == 6 {
                return Err(err(p, "a syscall has at most 6 arguments".into()));
            }
            args.push(parse_number(piece).map_err(|m| err(p, m))?);
            off += piece.len() + 1;
        }
    }
    Ok(Call {
        arch,
        syscall: name.to_string(),
        syscall_offset: name_offset,
        args,
    })
}

/// Parses an architecture name for policies; `x32` is refused with an
/// explanation.
pub fn parse_arch(name: &str) -> Result<Arch, String> {
    if name.eq_ignore_ascii_case("x32") || name.eq_ignore_ascii_case("scmp_arch_x32") {
        return Err("x32 cannot be listed: there is no x32 syscall table; x32 calls on x86_64 get the `bad_arch` action".into());
    }
    Arch::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unknown architecture `{name}` (known: {})",
            names.join(", ")
        )
    })
}

/// The syscall number a test names on `arch`: a name from the tables or a
/// decimal number.
pub fn test_syscall_nr(arch: Arch, syscall: &str) -> Option<u32> {
    super::resolve::syscall_nr(arch, syscall).or_else(|| syscall.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("-100"), Ok(0xffff_ffff_ffff_ff9c));
        assert_eq!(parse_number("0x1_0000_0000"), Ok(0x1_0000_0000));
        assert_eq!(parse_number("-0x1"), Ok(u64::MAX));
        assert_eq!(parse_number("0b101"), Ok(5));
        assert_eq!(parse_number("-9223372036854775808"), Ok(1 << 63));
        assert!(parse_number("-9223372036854775809").is_err());
        assert!(parse_number("18446744073709551616").is_err());
        assert!(parse_number("12a").is_err());
        assert!(parse_number("").is_err());
    }

    #[test]
    fn conditions() {
        let (c, p) = parse_condition("arg2 & 0x3 == 0").unwrap();
        assert_eq!(
            (c.arg, c.width, c.mask, c.op, c.value),
            (2, Width::U64, Some(3), CmpOp::Eq, 0)
        );
        assert_eq!((p.arg, p.mask, p.value), (0, Some(7), 14));
        let (c, _) = parse_condition(" arg0:i32 < -1").unwrap();
        assert_eq!((c.width, c.op, c.value), (Width::I32, CmpOp::Lt, u64::MAX));
        let (c, _) = parse_condition("arg5:u32>=7").unwrap();
        assert_eq!(
            (c.arg, c.width, c.op, c.value),
            (5, Width::U32, CmpOp::Ge, 7)
        );
        assert_eq!(parse_condition("arg6 == 1").unwrap_err().offset, 0);
        assert_eq!(parse_condition("arg0:u16 == 1").unwrap_err().offset, 5);
        assert_eq!(parse_condition("arg0 =< 1").unwrap_err().offset, 5);
        assert_eq!(
            parse_condition("arg0:u32 == 0x1_0000_0000")
                .unwrap_err()
                .offset,
            12
        );
        assert_eq!(
            parse_condition("arg0:i32 & 0x1_0000_0000 == 0")
                .unwrap_err()
                .offset,
            11
        );
        assert_eq!(parse_condition("arg0 == zz").unwrap_err().offset, 8);
    }

    #[test]
    fn calls() {
        let c = parse_call("i386:socketcall(1, 0)").unwrap();
        assert_eq!(c.arch, Some(Arch::X86));
        assert_eq!((c.syscall.as_str(), c.syscall_offset), ("socketcall", 5));
        assert_eq!(c.args, vec![1, 0]);
        let c = parse_call("openat(-100, 0, 1)").unwrap();
        assert_eq!(c.args, vec![0xffff_ffff_ffff_ff9c, 0, 1]);
        assert!(parse_call("getpid()").unwrap().args.is_empty());
        assert_eq!(parse_call("read(1, x)").unwrap_err().offset, 8);
        assert_eq!(parse_call("x32:read(1)").unwrap_err().offset, 0);
        assert!(parse_call("read(1,2,3,4,5,6,7)").is_err());
        assert!(parse_call("read(1").is_err());
    }

    #[test]
    fn positions() {
        assert_eq!(line_col("ab\ncdé\nx", 0), (1, 1));
        assert_eq!(line_col("ab\ncdé\nx", 3), (2, 1));
        assert_eq!(line_col("ab\ncdé\nx", 8), (3, 1));
        assert_eq!(line_col("ab\ncdé\nx", 7), (2, 4));
    }
}
