//! `--format text|json` for the commands that report a verdict (`layouts`,
//! `check`; `compile` has `json` among its output formats).
//!
//! In JSON mode standard output holds exactly one JSON document, an object
//! whose `schema` is [`SCHEMA`] and whose `command` names the command; the
//! fields of each command are described in the README ("Machine-readable
//! output"). Progress notes and warnings about the input still go to
//! standard error, and an error that stops the command before it reaches a
//! verdict (an unreadable file, say) prints `error: ...` there and no
//! document. The exit status is the text mode's.

/// The version of the JSON documents: raised when a field changes meaning
/// or disappears (adding fields does not raise it).
pub const SCHEMA: u32 = 1;

/// How a report is printed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, clap::ValueEnum)]
pub enum ReportFormat {
    /// Lines for people (the default).
    #[default]
    Text,
    /// One JSON document (see the module docs).
    Json,
}

/// The start of every document: `{"schema": SCHEMA, "command": command}`.
pub fn document(command: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("schema".into(), SCHEMA.into());
    m.insert("command".into(), command.into());
    m
}

/// `doc` pretty-printed, with a final newline.
pub fn to_string(doc: serde_json::Map<String, serde_json::Value>) -> String {
    // Serialising a `Value` cannot fail: its keys are strings.
    let mut text =
        serde_json::to_string_pretty(&serde_json::Value::Object(doc)).unwrap_or_default();
    text.push('\n');
    text
}

/// Prints `doc` on standard output (see [`to_string`]).
pub fn print(doc: serde_json::Map<String, serde_json::Value>) {
    print!("{}", to_string(doc));
}
