//! With `--features tch` the binaries link libtorch's shared libraries: record their folder as
//! an rpath, so `aelab` runs without LD_LIBRARY_PATH pointing at libtorch.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // torch-sys (`links = "tch"`) tells its direct dependents where it found libtorch.
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
