use arbitrary::{Arbitrary, Unstructured};
use fuzz::prng::SplitMix64;
use std::time::{Instant, Duration};
use bpf_asm::policy::compile::*;
fn main() {
    let mut rng = SplitMix64(1);
    let (mut tc, mut tp, mut tr) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for _ in 0..200 { let len = rng.below(513) as usize; let b = rng.bytes(len);
        let mut u = Unstructured::new(&b);
        let Ok(m) = fuzz::policy_semantics::PolicyModel::arbitrary(&mut u) else { continue };
        let t = Instant::now();
        let r = bpf_asm::policy::resolve::resolve(&m.0).unwrap();
        tr += t.elapsed();
        for l in Layout::ALL { let t = Instant::now(); let p = compile(&m.0, &CompileOptions{layout: l, profile: None}).unwrap(); tc += t.elapsed();
          let t = Instant::now(); let _ = bpf_vm::prove::prove(&p, &r, &fuzz::policy_semantics::ARCHES); tp += t.elapsed(); }
    }
    println!("resolve {tr:?} compile {tc:?} prove {tp:?}");
}
