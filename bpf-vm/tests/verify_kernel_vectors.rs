//! The verdicts of the kernel's own `lib/test_bpf.c` classic vectors (from the
//! shared corpus) against [`bpf_vm::verify`] in classic mode.

use bpf_asm::SockFilter;
use bpf_vm::{verify, Mode, Rule};

/// A tiny JSON reader: enough for the corpus file (objects, arrays, strings
/// without escapes that matter here, integers, booleans, null).
#[derive(Debug)]
enum Json {
    Null,
    // Parsed for completeness; no test reads a boolean.
    #[allow(dead_code)]
    Bool(bool),
    Num(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => panic!("not an array: {self:?}"),
        }
    }
    fn num(&self) -> i64 {
        match self {
            Json::Num(n) => *n,
            _ => panic!("not a number: {self:?}"),
        }
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.b[self.i], c, "at byte {}", self.i);
        self.i += 1;
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = Vec::new();
        while self.b[self.i] != b'"' {
            if self.b[self.i] == b'\\' {
                self.i += 1;
                out.push(match self.b[self.i] {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'u' => {
                        self.i += 4;
                        b'?'
                    }
                    c => c,
                });
            } else {
                out.push(self.b[self.i]);
            }
            self.i += 1;
        }
        self.i += 1;
        String::from_utf8_lossy(&out).into_owned()
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.b[self.i] {
            b'{' => {
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.b[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    let k = self.string();
                    self.eat(b':');
                    m.push((k, self.value()));
                    self.ws();
                    self.i += 1;
                    if self.b[self.i - 1] == b'}' {
                        return Json::Obj(m);
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.b[self.i] == b']' {
                    self.i += 1;
                    return Json::Arr(a);
                }
                loop {
                    a.push(self.value());
                    self.ws();
                    self.i += 1;
                    if self.b[self.i - 1] == b']' {
                        return Json::Arr(a);
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            b't' => {
                self.i += 4;
                Json::Bool(true)
            }
            b'f' => {
                self.i += 5;
                Json::Bool(false)
            }
            b'n' => {
                self.i += 4;
                Json::Null
            }
            _ => {
                let start = self.i;
                while self.i < self.b.len()
                    && matches!(
                        self.b[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.b[start..self.i]).unwrap();
                Json::Num(t.parse::<f64>().map(|f| f as i64).unwrap_or(0))
            }
        }
    }
}

fn corpus(path: &str) -> Option<Vec<u8>> {
    let p = format!("{}/../../shared/corpus/{path}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(_) => {
            println!("skipped: corpus not found ({p})");
            None
        }
    }
}

#[test]
fn kernel_test_bpf_classic_verdicts() {
    let Some(bytes) = corpus("kernel-test-bpf/classic_all.json") else {
        return;
    };
    let doc = Parser { b: &bytes, i: 0 }.value();
    let tests = doc.get("tests").expect("tests").arr();
    let (mut accepted, mut rejected) = (0, 0);
    for t in tests {
        let descr = t.get("descr").unwrap().str();
        let prog: Vec<SockFilter> = t
            .get("insns")
            .unwrap()
            .arr()
            .iter()
            .map(|i| {
                let f = i.arr();
                SockFilter::jump(
                    f[0].num() as u16,
                    f[3].num() as u32,
                    f[1].num() as u8,
                    f[2].num() as u8,
                )
            })
            .collect();
        let expect_ok = t.get("expected_errcode").unwrap().num() == 0;
        let got = verify(&prog, Mode::Classic);
        if descr == "BPF_MAXINSNS: jump over MSH" {
            // The kernel fails this one while converting to eBPF (a jump
            // offset past S16_MAX), after bpf_check_classic accepted it.
            assert_eq!(
                got.map_err(|e| (e.index, e.rule)),
                Err((Some(0), Rule::ConvertedJumpTooLong)),
                "{descr}"
            );
            assert!(!expect_ok, "{descr}");
            rejected += 1;
            continue;
        }
        assert_eq!(got.is_ok(), expect_ok, "{descr}: {got:?}");
        if expect_ok {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    assert!(accepted > 100 && rejected >= 10, "{accepted} {rejected}");
}

#[test]
fn kernel_test_bpf_rejections_name_the_right_rule() {
    let Some(bytes) = corpus("kernel-test-bpf/classic_all.json") else {
        return;
    };
    let doc = Parser { b: &bytes, i: 0 }.value();
    let want = [
        ("check: missing ret", Rule::NoFinalReturn),
        ("check: div_k_0", Rule::DivisionByZero),
        ("check: unknown insn", Rule::UnknownOpcode),
        ("check: out of range spill/fill", Rule::ScratchOutOfRange),
        ("check: RET X", Rule::UnknownOpcode),
        ("check: SKF_AD_MAX", Rule::UnknownAncillary),
        ("BPF_MAXINSNS: Too many instructions", Rule::TooLong),
        (
            "LD_ABS word negative offset, out of bounds load",
            Rule::UnknownAncillary,
        ),
    ];
    for (descr, rule) in want {
        let t = doc
            .get("tests")
            .unwrap()
            .arr()
            .iter()
            .find(|t| t.get("descr").unwrap().str() == descr)
            .unwrap_or_else(|| panic!("{descr} missing from the corpus"));
        let prog: Vec<SockFilter> = t
            .get("insns")
            .unwrap()
            .arr()
            .iter()
            .map(|i| {
                let f = i.arr();
                SockFilter::jump(
                    f[0].num() as u16,
                    f[3].num() as u32,
                    f[1].num() as u8,
                    f[2].num() as u8,
                )
            })
            .collect();
        let e = verify(&prog, Mode::Classic).expect_err(descr);
        assert_eq!(e.rule, rule, "{descr}: {e}");
    }
}
