//! Finds where a value sits in JSON text, by path, so that errors found after
//! parsing can still say `line:column`.

/// One step of a path: an object key or an array index.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Seg<'a> {
    /// An object member.
    Key(&'a str),
    /// An array element.
    Index(usize),
}

/// Byte offset of the value at `path` in `text` (of the deepest existing
/// prefix when the path does not exist; 0 when `text` is not JSON).
pub(crate) fn locate(text: &str, path: &[Seg<'_>]) -> usize {
    let b = text.as_bytes();
    let start = ws(b, 0);
    find(b, start, path)
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// End of the string starting at `i` (just after the closing quote).
fn string_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// End of the value starting at `i`.
fn value_end(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{') | Some(b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            j
        }
    }
}

fn find(b: &[u8], i: usize, path: &[Seg<'_>]) -> usize {
    let Some((seg, rest)) = path.split_first() else {
        return i;
    };
    match (b.get(i), seg) {
        (Some(b'{'), Seg::Key(key)) => {
            let mut j = ws(b, i + 1);
            while j < b.len() && b[j] == b'"' {
                let kend = string_end(b, j);
                let name = &b[j + 1..kend.saturating_sub(1).max(j + 1)];
                j = ws(b, kend);
                if b.get(j) != Some(&b':') {
                    return i;
                }
                let v = ws(b, j + 1);
                if name == key.as_bytes() {
                    return find(b, v, rest);
                }
                j = ws(b, value_end(b, v));
                if b.get(j) == Some(&b',') {
                    j = ws(b, j + 1);
                } else {
                    break;
                }
            }
            i
        }
        (Some(b'['), Seg::Index(n)) => {
            let mut j = ws(b, i + 1);
            let mut k = 0;
            while j < b.len() && b[j] != b']' {
                if k == *n {
                    return find(b, j, rest);
                }
                j = ws(b, value_end(b, j));
                if b.get(j) == Some(&b',') {
                    j = ws(b, j + 1);
                    k += 1;
                } else {
                    break;
                }
            }
            i
        }
        _ => i,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_values() {
        let t = r#"{"a": [1, {"b\"": 2, "c": "x,]"}, 3], "d": {"e": true}}"#;
        assert_eq!(&t[locate(t, &[Seg::Key("a"), Seg::Index(2)])..][..1], "3");
        assert_eq!(
            &t[locate(t, &[Seg::Key("a"), Seg::Index(1), Seg::Key("c")])..][..2],
            "\"x"
        );
        assert_eq!(
            &t[locate(t, &[Seg::Key("d"), Seg::Key("e")])..][..4],
            "true"
        );
        assert_eq!(locate(t, &[Seg::Key("zz")]), 0);
        assert_eq!(&t[locate(t, &[Seg::Key("a"), Seg::Index(9)])..][..1], "[");
    }
}
