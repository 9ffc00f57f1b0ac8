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
pub fn write_atomic(path: &str, bytes: &[u8]) -> Result<(), DynError> {
    let target = Path::new(path);
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
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
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
