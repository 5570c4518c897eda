//! `--device auto|cpu|cuda|cuda:N|ndarray`: which burn backend runs the work. The concrete
//! backend types are named here and nowhere else; everything below is generic.

use std::fmt;
use std::str::FromStr;

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::AutodiffBackend;

use crate::error::InputError;

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRequest {
    Auto,
    Cpu,
    Cuda(usize),
    NdArray,
}

impl FromStr for DeviceRequest {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" | "flex" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            "ndarray" => Ok(Self::NdArray),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| {
                    format!("unknown device '{text}': use auto, cpu, cuda, cuda:N or ndarray")
                }),
        }
    }
}

/// Where the work runs, once the request is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compute {
    Flex,
    #[cfg(feature = "cuda")]
    Cuda(usize),
    #[cfg(feature = "ndarray")]
    NdArray,
}

impl fmt::Display for Compute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flex => write!(f, "CPU (burn flex)"),
            #[cfg(feature = "cuda")]
            Self::Cuda(index) => write!(f, "CUDA GPU {index}"),
            #[cfg(feature = "ndarray")]
            Self::NdArray => write!(f, "CPU (burn ndarray)"),
        }
    }
}

/// Resolve a request to a backend. `Ok` may carry a one-line note for the user (why `auto`
/// fell back to the CPU); asking for a backend this build lacks is an error.
pub fn resolve(request: DeviceRequest) -> Result<(Compute, Option<String>), InputError> {
    match request {
        DeviceRequest::Cpu => Ok((Compute::Flex, None)),
        DeviceRequest::Auto => Ok(auto()),
        DeviceRequest::Cuda(index) => cuda(index),
        DeviceRequest::NdArray => ndarray(),
    }
}

#[cfg(feature = "cuda")]
fn auto() -> (Compute, Option<String>) {
    match cuda_probe::check(0) {
        Ok(()) => (Compute::Cuda(0), None),
        Err(why) => (
            Compute::Flex,
            Some(format!("no usable CUDA GPU ({why}); training on the CPU")),
        ),
    }
}

#[cfg(not(feature = "cuda"))]
fn auto() -> (Compute, Option<String>) {
    (Compute::Flex, None)
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Result<(Compute, Option<String>), InputError> {
    cuda_probe::check(index)
        .map(|()| (Compute::Cuda(index), None))
        .map_err(|why| InputError::new(format!("--device cuda:{index}: {why}")))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_: usize) -> Result<(Compute, Option<String>), InputError> {
    Err(InputError::new(
        "--device cuda: this aelab was built without CUDA; rebuild with `cargo build --release --features cuda`",
    ))
}

#[cfg(feature = "ndarray")]
fn ndarray() -> Result<(Compute, Option<String>), InputError> {
    Ok((Compute::NdArray, None))
}

#[cfg(not(feature = "ndarray"))]
fn ndarray() -> Result<(Compute, Option<String>), InputError> {
    Err(InputError::new(
        "--device ndarray: this aelab was built without the ndarray backend; rebuild with `--features ndarray`",
    ))
}

/// Work that runs on whichever autodiff backend was chosen.
pub trait BackendJob {
    type Output;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

/// Run `job` on the backend `compute` names.
pub fn dispatch<J: BackendJob>(compute: Compute, job: J) -> J::Output {
    match compute {
        Compute::Flex => job.run::<Autodiff<Flex>>(Default::default()),
        #[cfg(feature = "cuda")]
        Compute::Cuda(index) => {
            job.run::<Autodiff<burn::backend::Cuda>>(burn::backend::cuda::CudaDevice::new(index))
        }
        #[cfg(feature = "ndarray")]
        Compute::NdArray => job.run::<Autodiff<burn::backend::NdArray>>(Default::default()),
    }
}

/// Ask the driver directly whether a GPU answers, before burn touches CUDA: without a driver,
/// burn's CUDA device panics in a worker thread, which cannot be caught.
#[cfg(feature = "cuda")]
mod cuda_probe {
    use libloading::{Library, Symbol};

    const NVRTC_NAMES: [&str; 4] = [
        "libnvrtc.so",
        "libnvrtc.so.13",
        "libnvrtc.so.12",
        "libnvrtc.so.11.2",
    ];

    pub fn check(index: usize) -> Result<(), String> {
        let count = device_count()?;
        if index >= count {
            return Err(format!(
                "GPU {index} requested, but the driver reports {count} GPU(s)"
            ));
        }
        // Kernels are compiled at run time by NVRTC, so it must be loadable too.
        // SAFETY: loading a shared library by name runs its initialisers; NVRTC's are benign.
        let nvrtc = NVRTC_NAMES
            .iter()
            .any(|name| unsafe { Library::new(name) }.is_ok());
        if !nvrtc {
            return Err("NVRTC (libnvrtc.so) not found: add the CUDA toolkit's lib64 folder, e.g. /usr/local/cuda/lib64, to LD_LIBRARY_PATH".into());
        }
        Ok(())
    }

    fn device_count() -> Result<usize, String> {
        // SAFETY: the symbols are the CUDA driver API's documented C functions with these
        // signatures; the library stays loaded for the life of the process (leaked below).
        unsafe {
            let lib = Library::new("libcuda.so.1")
                .map_err(|_| "the NVIDIA driver (libcuda.so.1) is not installed".to_string())?;
            let init: Symbol<unsafe extern "C" fn(u32) -> i32> = lib
                .get(b"cuInit\0")
                .map_err(|e| format!("libcuda.so.1 lacks cuInit: {e}"))?;
            let code = init(0);
            if code != 0 {
                return Err(format!("the CUDA driver failed to start (error {code})"));
            }
            let get_count: Symbol<unsafe extern "C" fn(*mut i32) -> i32> = lib
                .get(b"cuDeviceGetCount\0")
                .map_err(|e| format!("libcuda.so.1 lacks cuDeviceGetCount: {e}"))?;
            let mut count = 0i32;
            let code = get_count(&mut count);
            std::mem::forget(lib);
            if code != 0 || count <= 0 {
                return Err("the CUDA driver reports no GPU".into());
            }
            Ok(count as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse() {
        assert_eq!("auto".parse(), Ok(DeviceRequest::Auto));
        assert_eq!("cpu".parse(), Ok(DeviceRequest::Cpu));
        assert_eq!("cuda".parse(), Ok(DeviceRequest::Cuda(0)));
        assert_eq!("cuda:2".parse(), Ok(DeviceRequest::Cuda(2)));
        assert_eq!("ndarray".parse(), Ok(DeviceRequest::NdArray));
        assert!(
            "tpu"
                .parse::<DeviceRequest>()
                .unwrap_err()
                .contains("cuda:N")
        );
        assert!("cuda:x".parse::<DeviceRequest>().is_err());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_names_it() {
        let err = resolve(DeviceRequest::Cuda(0)).unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
        assert_eq!(resolve(DeviceRequest::Auto).unwrap().0, Compute::Flex);
    }
}
