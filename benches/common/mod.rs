//! The backend the benches run on: the CPU (burn flex) by default, LibTorch's CPU kernels
//! with `--features tch`, the first CUDA GPU with `--features cuda` (`cargo bench --features
//! cuda`; it wins over tch). GPU work is queued, not done, when an op returns, so every timed
//! closure ends with `sync()`.

// Each bench uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use burn::backend::Autodiff;
use burn::prelude::Backend;

#[cfg(feature = "cuda")]
pub type Compute = burn::backend::Cuda;
#[cfg(all(feature = "tch", not(feature = "cuda")))]
pub type Compute = burn::backend::LibTorch;
#[cfg(not(any(feature = "cuda", feature = "tch")))]
pub type Compute = burn::backend::Flex;

/// The training backend: `Compute` with autodiff.
pub type Train = Autodiff<Compute>;

/// Prefix of every benchmark group, so CPU and GPU figures never share a criterion baseline.
pub const BACKEND: &str = if cfg!(feature = "cuda") {
    "cuda"
} else if cfg!(feature = "tch") {
    "libtorch"
} else {
    "flex"
};

/// The device, with malloc tuned as the `aelab` binary tunes it (`aelab::heap`), so a bench
/// step costs what a step in the app costs.
pub fn device() -> burn::tensor::Device<Compute> {
    aelab::heap::keep_freed_memory();
    Default::default()
}

/// Waits until the device has finished everything queued (a no-op on the CPU).
pub fn sync() {
    Compute::sync(&device()).expect("the device failed while benchmarking");
}

/// A bundled MNIST file: under the source tree the bench was built from, or, for a bench
/// executable carried to another machine (the GPU check), under the current directory.
pub fn mnist(name: &str) -> PathBuf {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/mnist")
        .join(name);
    if built_from.exists() {
        built_from
    } else {
        Path::new("data/mnist").join(name)
    }
}
