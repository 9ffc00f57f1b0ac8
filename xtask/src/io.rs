//! Reading inputs and writing outputs for the commands.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::DynError;

/// Reads a whole input file; `-` means standard input.
pub fn read_input(path: &str) -> Result<Vec<u8>, DynError> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("<stdin>: {e}"))?;
        return Ok(buf);
    }
    fs::read(path).map_err(|e| format!("{path}: {e}").into())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// flushed, then renamed over the target. On error nothing is left behind.
///
/// A symbolic link is followed (the file it names is replaced, the link
/// stays). A target that exists and is not a regular file (`/dev/stdout`,
/// a FIFO, a device such as `/dev/full`) cannot be replaced by a rename
/// without destroying it, so it is written directly, and its errors (e.g.
/// `ENOSPC`) are reported.
pub fn write_atomic(path: &str, bytes: &[u8]) -> Result<(), DynError> {
    let err = |e: std::io::Error| -> DynError { format!("{path}: {e}").into() };
    if let Ok(m) = fs::metadata(path) {
        if m.is_dir() {
            return Err(format!("{path}: is a directory").into());
        }
        if !m.is_file() {
            let mut f = fs::OpenOptions::new().write(true).open(path).map_err(err)?;
            f.write_all(bytes).map_err(err)?;
            return f.flush().map_err(err);
        }
    }
    let resolved = fs::canonicalize(path).ok();
    let target = resolved.as_deref().unwrap_or(Path::new(path));
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let name = target
        .file_name()
        .ok_or_else(|| format!("{path}: not a file name"))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // A stale temporary file of an earlier run of this pid goes first;
    // `create_new` never follows a link planted at that name.
    let _ = fs::remove_file(&tmp);
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        if let Ok(m) = fs::metadata(target) {
            f.set_permissions(m.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, target)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(format!("{path}: {e}").into());
    }
    Ok(())
}

/// Writes to `out` atomically when given, else to standard output.
pub fn emit(out: Option<&str>, bytes: &[u8]) -> Result<(), DynError> {
    match out {
        Some(p) => write_atomic(p, bytes),
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(bytes)?;
            so.flush()?;
            Ok(())
        }
    }
}

/// How a program file is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum InputFormat {
    /// Raw `struct sock_filter` bytes in host byte order (what
    /// `seccomp_export_bpf` writes).
    Raw,
    /// The `bpf_asm` decimal comma list (`N,code jt jf k,...`), also
    /// `tcpdump -ddd` output.
    Comma,
    /// `bpf_asm` assembly text (with the seccomp superset).
    Asm,
}

impl InputFormat {
    /// The format a file name implies: `.bpf`, `.bin`, `.raw` are raw; `.txt`
    /// is the comma list; `.s`, `.asm` are assembly.
    pub fn from_extension(path: &str) -> Option<InputFormat> {
        let ext = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "bpf" | "bin" | "raw" => InputFormat::Raw,
            "txt" => InputFormat::Comma,
            "s" | "asm" => InputFormat::Asm,
            _ => return None,
        })
    }

    /// The `--input` value of this format.
    pub const fn name(self) -> &'static str {
        match self {
            InputFormat::Raw => "raw",
            InputFormat::Comma => "comma",
            InputFormat::Asm => "asm",
        }
    }
}

/// Whether `bytes` look like the comma list rather than raw instructions:
/// only digits, separators and white space, starting with a digit. Raw
/// programs never look like this: a code whose high byte is an ASCII digit
/// (0x3030 and up) is not a BPF code.
fn looks_like_comma_text(bytes: &[u8]) -> bool {
    let body = bytes.trim_ascii_start();
    body.first().is_some_and(u8::is_ascii_digit)
        && body
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b',' | b' ' | b'\t' | b'\r' | b'\n'))
}

/// The format of a program file judged by its content alone: a NUL byte
/// means raw instructions (every BPF code is below 0x100, so the high byte
/// of each instruction's code is zero in either byte order), a comma list
/// is [`InputFormat::Comma`], any other text is assembly.
pub fn sniff_format(bytes: &[u8]) -> InputFormat {
    if bytes.contains(&0) {
        InputFormat::Raw
    } else if looks_like_comma_text(bytes) {
        InputFormat::Comma
    } else if std::str::from_utf8(bytes).is_ok() {
        InputFormat::Asm
    } else {
        InputFormat::Raw
    }
}

/// How a program file is shown in messages: `-` is `<stdin>`.
pub fn shown(path: &str) -> &str {
    if path == "-" {
        "<stdin>"
    } else {
        path
    }
}

/// Reads a program from `path` (`-` = standard input) in `input` format.
/// Without `input`, the extension decides (see [`InputFormat::from_extension`])
/// and the content corrects it: a "raw" file that is really the comma list
/// (the kernel's `bpf_asm` output is often saved as `.bpf`) is read as the
/// comma list, and a `.txt` file that is not a comma list as assembly, each
/// with a note on standard error. A file whose extension says nothing (or
/// standard input) is judged by its content ([`sniff_format`]), also with a
/// note. An empty program is an error: the kernel refuses it (`EINVAL`).
pub fn load_program(
    path: &str,
    input: Option<InputFormat>,
) -> Result<Vec<bpf_asm::SockFilter>, DynError> {
    let bytes = read_input(path)?;
    let name = shown(path);
    let format = match (input, InputFormat::from_extension(path)) {
        (Some(f), _) => f,
        (None, Some(InputFormat::Raw)) if looks_like_comma_text(&bytes) => {
            eprintln!(
                "note: {name} holds bpf_asm comma text, not raw bytes; reading it as --input comma"
            );
            InputFormat::Comma
        }
        (None, Some(InputFormat::Comma)) if !looks_like_comma_text(&bytes) => {
            eprintln!(
                "note: {name} is not a bpf_asm comma list; reading it as assembly (--input asm)"
            );
            InputFormat::Asm
        }
        (None, Some(f)) => f,
        (None, None) => {
            let f = sniff_format(&bytes);
            eprintln!(
                "note: {name}: no known extension; the content reads as --input {}",
                f.name()
            );
            f
        }
    };
    let text = |bytes: &[u8]| -> Result<String, DynError> {
        String::from_utf8(bytes.to_vec()).map_err(|e| {
            format!(
                "{name}: byte offset {}: not UTF-8 text (is it a raw program? pass --input raw)",
                e.utf8_error().valid_up_to()
            )
            .into()
        })
    };
    let prog = match format {
        InputFormat::Raw => {
            bpf_asm::encode::parse_raw(&bytes).map_err(|e| format!("{name}: {e}"))?
        }
        InputFormat::Comma => {
            bpf_asm::encode::parse_comma(&text(&bytes)?).map_err(|e| format!("{name}:{e}"))?
        }
        InputFormat::Asm => {
            bpf_asm::text::assemble(&text(&bytes)?, &bpf_asm::text::AsmOptions::DEFAULT)
                .map_err(|e| format!("{name}:{e}"))?
        }
    };
    if prog.is_empty() {
        return Err(format!(
            "{name}: the program is empty (read as --input {}): the kernel refuses a filter without instructions (EINVAL)",
            format.name()
        )
        .into());
    }
    Ok(prog)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> String {
        let dir = std::env::temp_dir().join(format!("xtask-io-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn formats_follow_extension_and_content() {
        let prog = [
            bpf_asm::SockFilter::stmt(0x20, 4),
            bpf_asm::SockFilter::stmt(0x06, 0x7fff_0000),
        ];
        let raw = bpf_asm::encode::to_raw(&prog);
        let comma = bpf_asm::encode::to_comma(&prog);
        let asm = "ld [4]\nret #0x7fff0000\n";
        assert_eq!(load_program(&temp("a.bpf", &raw), None).unwrap(), prog);
        assert_eq!(load_program(&temp("b.bin", &raw), None).unwrap(), prog);
        // bpf_asm output saved as .bpf, like the corpus file.
        assert_eq!(
            load_program(&temp("c.bpf", comma.as_bytes()), None).unwrap(),
            prog
        );
        assert_eq!(
            load_program(&temp("d.txt", comma.as_bytes()), None).unwrap(),
            prog
        );
        assert_eq!(
            load_program(&temp("e.txt", asm.as_bytes()), None).unwrap(),
            prog
        );
        assert_eq!(
            load_program(&temp("f.s", asm.as_bytes()), None).unwrap(),
            prog
        );
        // --input wins over the extension and over sniffing.
        let p = temp("g.dat", comma.as_bytes());
        assert_eq!(load_program(&p, Some(InputFormat::Comma)).unwrap(), prog);
        let e = load_program(&p, Some(InputFormat::Raw))
            .unwrap_err()
            .to_string();
        assert!(e.contains("trailing byte"), "{e}");
        // No known extension: the content decides.
        assert_eq!(load_program(&p, None).unwrap(), prog);
        assert_eq!(load_program(&temp("j.dat", &raw), None).unwrap(), prog);
        assert_eq!(
            load_program(&temp("k", asm.as_bytes()), None).unwrap(),
            prog
        );
        let e = load_program(&temp("h.s", b"ld [4]\nbogus\n"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("h.s:2:"), "{e}");
        let e = load_program(&temp("i.txt", b"3,6 0 0 0,"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("i.txt:1:1: the count says 3"), "{e}");
    }

    #[test]
    fn empty_programs_are_errors_in_every_format() {
        for (name, bytes) in [
            ("empty.bpf", &b""[..]),
            ("empty.s", b"; nothing but a comment\n"),
            ("empty.txt", b"0,\n"),
            ("empty", b""),
        ] {
            let path = temp(name, bytes);
            let e = load_program(&path, None).unwrap_err().to_string();
            assert!(e.starts_with(&path) && e.contains("empty"), "{e}");
        }
    }

    #[test]
    fn content_sniffing_sees_every_raw_program_as_raw() {
        // Every raw instruction has a zero byte (the high byte of its code).
        for code in bpf_asm::CLASSIC_CODES {
            for k in [0, 0x3131_3131, u32::MAX] {
                let f = bpf_asm::SockFilter::jump(code, k, 0x31, 0x32);
                let raw = bpf_asm::encode::to_raw(&[f]);
                assert_eq!(sniff_format(&raw), InputFormat::Raw, "code {code:#x}");
            }
        }
        assert_eq!(sniff_format(b"1,6 0 0 0,"), InputFormat::Comma);
        assert_eq!(sniff_format(b"ret #0\n"), InputFormat::Asm);
        assert_eq!(sniff_format(b"\xff\xfe"), InputFormat::Raw);
    }

    #[test]
    fn atomic_writes_replace_files_and_write_through_the_rest() {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("xtask-io-atomic-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
        // A regular file: replaced, its mode kept, nothing else left.
        fs::write(p("f"), b"old").unwrap();
        fs::set_permissions(p("f"), fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&p("f"), b"new").unwrap();
        assert_eq!(fs::read(p("f")).unwrap(), b"new");
        assert_eq!(
            fs::metadata(p("f")).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A link: the file it names is replaced, the link stays.
        std::os::unix::fs::symlink(p("f"), p("link")).unwrap();
        write_atomic(&p("link"), b"via link").unwrap();
        assert!(fs::symlink_metadata(p("link"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(p("f")).unwrap(), b"via link");
        // A directory is an error.
        assert!(write_atomic(&dir.to_string_lossy(), b"x")
            .unwrap_err()
            .to_string()
            .contains("directory"));
        // A FIFO is written to, not replaced.
        let fifo = std::ffi::CString::new(p("fifo")).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let reader = {
            let path = p("fifo");
            std::thread::spawn(move || fs::read(path).unwrap())
        };
        write_atomic(&p("fifo"), b"through the fifo").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the fifo");
        assert!(fs::metadata(p("fifo")).unwrap().file_type().is_fifo());
        // A full device (a private copy of /dev/full, where mknod is
        // allowed): ENOSPC is reported and the device stays.
        let full = std::ffi::CString::new(p("full")).unwrap();
        // SAFETY: a NUL-terminated path; makedev(1, 7) is /dev/full.
        if unsafe { libc::mknod(full.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 7)) } == 0 {
            let e = write_atomic(&p("full"), b"x").unwrap_err().to_string();
            assert!(e.contains("No space left"), "{e}");
            assert!(fs::metadata(p("full"))
                .unwrap()
                .file_type()
                .is_char_device());
        } else {
            println!("skipped the full-device case: mknod not permitted here");
        }
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn raw_programs_never_look_like_comma_text() {
        // Every code the kernel accepts has a zero or non-digit high byte.
        for code in bpf_asm::CLASSIC_CODES {
            let raw = bpf_asm::encode::to_raw(&[bpf_asm::SockFilter::stmt(code, 0x3131_3131)]);
            assert!(!looks_like_comma_text(&raw), "code {code:#x}");
        }
        assert!(looks_like_comma_text(b" 1,6 0 0 0,\n"));
    }
}
