//! The text form of a syscall frequency [`Profile`].
//!
//! One syscall per line: `NAME WEIGHT` (for example counts from `strace -c`),
//! or `NAME` alone for a priority list, most frequent first (the format of
//! Android's `SECCOMP_PRIORITY.TXT`): a bare name on line *k* of *n* listed
//! names weighs *n − k + 1*. `#` starts a comment; blank lines are skipped.
//! Weights are decimal integers. Names are not checked against any table
//! here: the compiler looks each one up per architecture.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::Profile;

/// Why a profile text was refused, with the line (from 1) it was found on.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProfileError {
    /// Line of the text, from 1.
    pub line: usize,
    /// What is wrong there.
    pub kind: ProfileErrorKind,
}

/// The kinds of [`ProfileError`].
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ProfileErrorKind {
    /// The first field is not a syscall name (letters, digits, `_`).
    NotAName(String),
    /// The second field is not a non-negative decimal integer below 2^64.
    BadWeight(String),
    /// Something follows the weight.
    Trailing(String),
    /// The same syscall is listed twice (the second line is reported).
    Duplicate {
        /// The name.
        name: String,
        /// The line it was first listed on.
        first: usize,
    },
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl fmt::Display for ProfileErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileErrorKind::NotAName(n) => write!(f, "`{n}` is not a syscall name"),
            ProfileErrorKind::BadWeight(w) => {
                write!(f, "weight `{w}` is not a non-negative decimal integer")
            }
            ProfileErrorKind::Trailing(t) => write!(f, "unexpected `{t}` after the weight"),
            ProfileErrorKind::Duplicate { name, first } => {
                write!(f, "`{name}` is already listed on line {first}")
            }
        }
    }
}

impl core::error::Error for ProfileError {}

impl Profile {
    /// Parses the text form of a profile: one syscall per line, `NAME
    /// WEIGHT` (decimal), or `NAME` alone for a priority list, most
    /// frequent first (a bare name on line *k* of *n* listed names weighs
    /// *n − k + 1*); `#` starts a comment. A name listed twice is an error.
    pub fn parse(text: &str) -> Result<Profile, ProfileError> {
        let mut named: Vec<(String, Option<u64>, usize)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |kind| ProfileError { line, kind };
            let body = raw.split('#').next().unwrap_or("").trim();
            if body.is_empty() {
                continue;
            }
            let mut fields = body.split_whitespace();
            let name = fields.next().unwrap_or_default();
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(err(ProfileErrorKind::NotAName(name.to_string())));
            }
            if let Some(&(_, _, first)) = named.iter().find(|(n, _, _)| n == name) {
                return Err(err(ProfileErrorKind::Duplicate {
                    name: name.to_string(),
                    first,
                }));
            }
            let weight = match fields.next() {
                None => None,
                Some(w) => Some(
                    w.parse::<u64>()
                        .map_err(|_| err(ProfileErrorKind::BadWeight(w.to_string())))?,
                ),
            };
            if let Some(extra) = fields.next() {
                return Err(err(ProfileErrorKind::Trailing(extra.to_string())));
            }
            named.push((name.to_string(), weight, line));
        }
        let listed = named.len() as u64;
        let weights = named
            .into_iter()
            .enumerate()
            .map(|(rank, (name, weight, _))| (name, weight.unwrap_or(listed - rank as u64)))
            .collect();
        Ok(Profile { weights })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn weighted_and_ranked_profiles_parse() {
        let p = Profile::parse("# counts\nread 900\nwrite 10 # comment\n\n").unwrap();
        assert_eq!(p.weights, vec![("read".into(), 900), ("write".into(), 10)]);
        let p = Profile::parse("futex\nioctl\nepoll_pwait\n").unwrap();
        assert_eq!(
            p.weights,
            vec![
                ("futex".into(), 3),
                ("ioctl".into(), 2),
                ("epoll_pwait".into(), 1)
            ]
        );
        assert_eq!(Profile::parse("").unwrap().weights, vec![]);
    }

    #[test]
    fn bad_profile_lines_are_located() {
        let line = |t: &str| Profile::parse(t).unwrap_err().line;
        assert_eq!(line("read 1\nwrite x\n"), 2);
        assert_eq!(line("\n\nopen(at) 3\n"), 3);
        assert_eq!(line("read 1 2\n"), 1);
        assert_eq!(line("read -1\n"), 1);
        let e = Profile::parse("read\nwrite\nread 3\n").unwrap_err();
        assert_eq!(e.to_string(), "line 3: `read` is already listed on line 1");
    }
}
