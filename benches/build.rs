//! Builds the C baseline interpreter used by the emulator benchmark.

fn main() {
    println!("cargo:rerun-if-changed=c/interp.c");
    cc::Build::new()
        .file("c/interp.c")
        .opt_level(2)
        .warnings(true)
        .compile("seccomp_c_interp");
}
