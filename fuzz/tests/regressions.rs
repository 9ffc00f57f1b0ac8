//! Inputs the fuzzers found, kept as seed files and named tests.

use bpf_asm::policy::load::{load_str, Format, LoadOptions};
use fuzz::harness::{run_one, seed_dir};

/// Found by libFuzzer on `policy_text`: a JSON syntax error after non-ASCII
/// text was reported at serde_json's byte column, past the end of the line
/// in characters (`LoadError::column` counts characters). Input: `{"defaultAction":
/// "ééé` (22 characters, 25 bytes): serde_json stops at byte 25, the
/// last `é`, which is column 22.
#[test]
fn json_syntax_error_column_counts_characters() {
    let path = seed_dir("policy_text").join("regression-json-column-in-bytes.json");
    let bytes = std::fs::read(&path).expect("regression seed");
    run_one(&path.display().to_string(), &bytes, fuzz::policy_text);
    let text = std::str::from_utf8(&bytes).expect("UTF-8 seed");
    for (format, text) in [
        (Format::Oci, text.to_string()),
        (Format::Firecracker, text.replace("defaultAction", "vmm")),
    ] {
        let opts = LoadOptions {
            format: Some(format),
            ..LoadOptions::default()
        };
        let e = load_str(&text, "x.json", &opts).expect_err("truncated JSON");
        assert_eq!(
            (e.line, e.column),
            (1, text.chars().count()),
            "{format:?}: {e}"
        );
    }
}
