//! Errors of the encoders and parsers.

use core::fmt;

/// Why a program could not be written.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum EncodeError {
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The name given for a Rust item is not an identifier.
    BadName,
    /// The underlying writer failed.
    Fmt,
}

impl From<fmt::Error> for EncodeError {
    fn from(_: fmt::Error) -> Self {
        EncodeError::Fmt
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed, available } => write!(
                f,
                "output buffer too small: {needed} bytes needed, {available} available"
            ),
            EncodeError::BadName => write!(
                f,
                "not a Rust identifier (letters, digits and '_', not starting with a digit)"
            ),
            EncodeError::Fmt => write!(f, "the output writer failed"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Why an encoded program could not be read, and where.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ParseError {
    /// 1-based line (text formats) or 0 (raw bytes).
    pub line: usize,
    /// 1-based column (text formats) or the byte offset (raw bytes).
    pub column: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with an encoded program.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ParseErrorKind {
    /// Raw input whose length is not a multiple of 8 (`column` is the offset
    /// of the incomplete instruction).
    TrailingBytes {
        /// How many bytes are left over.
        extra: usize,
    },
    /// Something else was expected here.
    Expected(&'static str),
    /// A number is too large for its field.
    TooLarge {
        /// The field (`count`, `code`, `jt`, `jf`, `k`).
        field: &'static str,
        /// Its largest value.
        max: u32,
    },
    /// The declared instruction count differs from the instructions present.
    CountMismatch {
        /// The count at the start.
        declared: u32,
        /// Instructions found.
        found: usize,
    },
    /// The output buffer has room for fewer instructions than the input holds.
    Capacity {
        /// Instructions the buffer can hold.
        capacity: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ParseErrorKind::TrailingBytes { extra } = self.kind {
            return write!(
                f,
                "byte offset {}: {extra} trailing byte(s); a raw program is a sequence of \
                 8-byte instructions",
                self.column
            );
        }
        if self.line == 0 {
            write!(f, "byte offset {}: ", self.column)?;
        } else {
            write!(f, "{}:{}: ", self.line, self.column)?;
        }
        match self.kind {
            ParseErrorKind::TrailingBytes { .. } => Ok(()),
            ParseErrorKind::Expected(what) => write!(f, "expected {what}"),
            ParseErrorKind::TooLarge { field, max } => {
                write!(f, "{field} is too large (at most {max})")
            }
            ParseErrorKind::CountMismatch { declared, found } => write!(
                f,
                "the count says {declared} instructions but {found} follow"
            ),
            ParseErrorKind::Capacity { capacity } => write!(
                f,
                "more instructions than the output buffer holds ({capacity})"
            ),
        }
    }
}

impl core::error::Error for ParseError {}
