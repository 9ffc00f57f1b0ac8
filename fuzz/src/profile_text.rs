//! Target `profile_text`: arbitrary text through the frequency-profile
//! parser ([`Profile::parse`], what `--profile FILE` reads).
//!
//! Properties: parsing never panics; an accepted profile has one weight per
//! listed line, names made of letters, digits and `_`, no name twice; written
//! back as `NAME WEIGHT` lines it parses to the same profile; and a refused
//! text is refused at a line that exists, the same line whatever follows it.

use bpf_asm::policy::compile::Profile;

/// The target body.
pub fn profile_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Profile::parse(text) {
        Ok(p) => {
            let listed = text
                .lines()
                .filter(|l| !l.split('#').next().unwrap_or("").trim().is_empty())
                .count();
            assert_eq!(p.weights.len(), listed, "one weight per listed line");
            for (i, (name, _)) in p.weights.iter().enumerate() {
                assert!(!name.is_empty());
                assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
                assert!(
                    !p.weights[..i].iter().any(|(n, _)| n == name),
                    "`{name}` listed twice"
                );
            }
            let written: String = p
                .weights
                .iter()
                .map(|(n, w)| format!("{n} {w}\n"))
                .collect();
            assert_eq!(Profile::parse(&written), Ok(p), "written back:\n{written}");
        }
        Err(e) => {
            let lines = text.lines().count();
            assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
            // The error is about its line and those before: cutting the text
            // after that line gives the same error.
            let head: String = text
                .lines()
                .take(e.line)
                .map(|l| format!("{l}\n"))
                .collect();
            assert_eq!(Profile::parse(&head), Err(e), "cut after the error line");
        }
    }
}
