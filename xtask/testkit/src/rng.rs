//! The seeded generator and its seeds.

/// Environment variable that replaces the seed of every generated test: a
/// decimal or `0x` hexadecimal number, or `random` for a fresh one.
pub const SEED_ENV: &str = "TEST_SEED";

/// The older name of [`SEED_ENV`] (from `bpf-vm`'s kernel tests), still
/// honoured when [`SEED_ENV`] is not set.
pub const LEGACY_SEED_ENV: &str = "BPF_VM_SEED";

/// splitmix64: a 64-bit state advanced by a constant, one multiply-xorshift
/// mix per draw. Small, fast, and every output is determined by the seed.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator started at `seed` (the same seed gives the same stream).
    pub const fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The generator of the test `name`: started at [`seed`]`(name,
    /// default)`, which prints the seed and how to replay it.
    pub fn for_test(name: &str, default: u64) -> Rng {
        Rng::new(seed(name, default))
    }

    /// An independent generator for case `index` of a test seeded with
    /// `seed`: cases can then be replayed one by one.
    pub fn for_case(seed: u64, index: u64) -> Rng {
        let mut r = Rng::new(seed ^ index.wrapping_mul(0xd134_2543_de82_ef95));
        Rng::new(r.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The next 32 random bits (the high half of a draw).
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A number in `0..n`; `n` must not be 0.
    ///
    /// # Panics
    /// When `n` is 0 (an empty range is a bug in the test).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0): empty range");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An index in `0..n`; `n` must not be 0.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// A number in `lo..=hi` (`lo <= hi`).
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        assert!(lo <= hi, "Rng::range({lo}, {hi}): empty range");
        lo + self.below((hi - lo) as u64 + 1) as usize
    }

    /// True with probability `num / den` (`den > 0`).
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// One element of `items` (not empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.fill(&mut out);
        out
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let w = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

/// The seed of the test `name`: [`SEED_ENV`] (or [`LEGACY_SEED_ENV`]) when
/// set, else `default`, fixed so that plain runs are reproducible. Prints
/// `NAME: seed 0x… (replay with TEST_SEED=0x…)` on standard error, which the
/// test runner shows when the test fails.
///
/// # Panics
/// When the variable is set to something that is not a seed.
pub fn seed(name: &str, default: u64) -> u64 {
    let from_env = [SEED_ENV, LEGACY_SEED_ENV]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().map(|v| (var, v)));
    let s = match from_env {
        None => default,
        Some((var, v)) => parse_seed(&v)
            .unwrap_or_else(|| panic!("{var}={v:?} is not a seed (a number, 0x… or `random`)")),
    };
    eprintln!("{name}: seed {s:#x} (replay with {SEED_ENV}={s:#x})");
    s
}

/// A seed as written in [`SEED_ENV`]: decimal, `0x` hexadecimal (`_`
/// allowed), or `random` (from the clock and the process id).
fn parse_seed(text: &str) -> Option<u64> {
    let t = text.trim().replace('_', "");
    if t == "random" {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let mut r = Rng::new(nanos ^ (u64::from(std::process::id()) << 32));
        return Some(r.next_u64());
    }
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published splitmix64 reference outputs for seed 0 (Vigna's
    /// `splitmix64.c`): the stream is the algorithm, not an accident.
    #[test]
    fn stream_is_splitmix64() {
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn draws_stay_in_range_and_cover_it() {
        let mut r = Rng::new(7);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            let v = r.below(10);
            seen[v as usize] += 1;
            let w = r.range(3, 5);
            assert!((3..=5).contains(&w));
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert_eq!(Rng::new(1).below(1), 0);
        assert_eq!(r.range(4, 4), 4);
        let mut hits = 0;
        for _ in 0..10_000 {
            hits += usize::from(r.chance(1, 4));
        }
        assert!((2000..3000).contains(&hits), "{hits}");
    }

    #[test]
    fn bytes_are_the_little_endian_stream() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let bytes = a.bytes(11);
        let w0 = b.next_u64().to_le_bytes();
        let w1 = b.next_u64().to_le_bytes();
        assert_eq!(&bytes[..8], &w0);
        assert_eq!(&bytes[8..], &w1[..3]);
        assert!(Rng::new(1).bytes(0).is_empty());
    }

    #[test]
    fn cases_are_independent_and_reproducible() {
        let a: Vec<u64> = (0..4).map(|i| Rng::for_case(9, i).next_u64()).collect();
        let b: Vec<u64> = (0..4).map(|i| Rng::for_case(9, i).next_u64()).collect();
        assert_eq!(a, b);
        let mut d = a.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), 4);
    }

    #[test]
    #[should_panic(expected = "empty range")]
    fn below_zero_is_a_bug() {
        Rng::new(0).below(0);
    }

    #[test]
    fn seeds_parse_in_every_documented_spelling() {
        assert_eq!(parse_seed("12"), Some(12));
        assert_eq!(parse_seed(" 0x5eed_0001 "), Some(0x5eed_0001));
        assert_eq!(parse_seed("0XFF"), Some(255));
        assert!(parse_seed("random").is_some());
        assert_eq!(parse_seed("0xg"), None);
        assert_eq!(parse_seed(""), None);
        assert_eq!(parse_seed("-1"), None);
    }
}
