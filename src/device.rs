//! `--device auto|cpu|cuda[:N]|libtorch|libtorch-cuda[:N]|wgpu[:N]|ndarray`: which burn
//! backend runs the work. The concrete backend types are named here and nowhere else;
//! everything below is generic.

use std::fmt;
use std::str::FromStr;

use crate::model::TrainBackend;
use burn::backend::{Autodiff, Flex};

use crate::exit::InputError;

#[cfg(feature = "wgpu")]
mod wgpu_adapters;
#[cfg(feature = "wgpu")]
pub use wgpu_adapters::WgpuAdapter;

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRequest {
    Auto,
    Cpu,
    Cuda(usize),
    LibTorch,
    LibTorchCuda(usize),
    /// `None`: the adapter wgpu prefers; `Some(N)`: the Nth wgpu lists.
    Wgpu(Option<usize>),
    NdArray,
}

impl FromStr for DeviceRequest {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let name = text.to_ascii_lowercase();
        // `NAME` is GPU 0, `NAME:N` GPU N.
        let gpu = |prefix: &str| -> Option<usize> {
            match name.strip_prefix(prefix)? {
                "" => Some(0),
                rest => rest.strip_prefix(':')?.parse().ok(),
            }
        };
        let parsed = match name.as_str() {
            "auto" => Some(Self::Auto),
            "cpu" | "flex" => Some(Self::Cpu),
            "gpu" => Some(Self::Cuda(0)),
            "ndarray" => Some(Self::NdArray),
            "libtorch" | "libtorch-cpu" => Some(Self::LibTorch),
            "wgpu" => Some(Self::Wgpu(None)),
            _ => (gpu("libtorch-cuda").map(Self::LibTorchCuda))
                .or_else(|| gpu("cuda").map(Self::Cuda))
                .or_else(|| gpu("wgpu").map(|index| Self::Wgpu(Some(index)))),
        };
        parsed.ok_or_else(|| {
            format!(
                "unknown device '{text}': use auto, cpu, cuda, cuda:N, libtorch, libtorch-cuda, libtorch-cuda:N, wgpu, wgpu:N or ndarray"
            )
        })
    }
}

/// Where the work runs, once the request is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compute {
    Flex,
    #[cfg(feature = "cuda")]
    Cuda(usize),
    #[cfg(feature = "tch")]
    LibTorch,
    #[cfg(feature = "tch")]
    LibTorchCuda(usize),
    #[cfg(feature = "wgpu")]
    Wgpu(WgpuAdapter),
    #[cfg(feature = "ndarray")]
    NdArray,
}

impl fmt::Display for Compute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flex => write!(f, "CPU (burn flex)"),
            #[cfg(feature = "cuda")]
            Self::Cuda(index) => write!(f, "CUDA GPU {index} (burn cuda)"),
            #[cfg(feature = "tch")]
            Self::LibTorch => write!(f, "CPU (LibTorch)"),
            #[cfg(feature = "tch")]
            Self::LibTorchCuda(index) => write!(f, "CUDA GPU {index} (LibTorch)"),
            #[cfg(feature = "wgpu")]
            Self::Wgpu(adapter) if adapter.software => {
                write!(f, "{} (software renderer, burn wgpu)", adapter.name)
            }
            #[cfg(feature = "wgpu")]
            Self::Wgpu(adapter) => write!(f, "GPU {} (burn wgpu)", adapter.name),
            #[cfg(feature = "ndarray")]
            Self::NdArray => write!(f, "CPU (burn ndarray)"),
        }
    }
}

impl Compute {
    /// As `--device` names it: cpu, cuda:0, libtorch, libtorch-cuda:0, wgpu, wgpu:1, ndarray.
    pub fn flag(&self) -> String {
        match self {
            Self::Flex => "cpu".into(),
            #[cfg(feature = "cuda")]
            Self::Cuda(index) => format!("cuda:{index}"),
            #[cfg(feature = "tch")]
            Self::LibTorch => "libtorch".into(),
            #[cfg(feature = "tch")]
            Self::LibTorchCuda(index) => format!("libtorch-cuda:{index}"),
            #[cfg(feature = "wgpu")]
            Self::Wgpu(adapter) => match adapter.listed {
                None => "wgpu".into(),
                Some(index) => format!("wgpu:{index}"),
            },
            #[cfg(feature = "ndarray")]
            Self::NdArray => "ndarray".into(),
        }
    }
}

/// Why a backend cannot be used.
#[derive(Debug)]
enum Unavailable {
    /// Not compiled into this binary: the cargo feature that brings it.
    #[cfg_attr(
        all(
            feature = "cuda",
            feature = "tch",
            feature = "wgpu",
            feature = "ndarray"
        ),
        allow(dead_code)
    )]
    NotBuilt { feature: &'static str },
    /// Compiled in, but the device does not answer (only GPU backends say so).
    #[cfg_attr(
        not(any(feature = "cuda", feature = "tch", feature = "wgpu")),
        allow(dead_code)
    )]
    NoDevice(String),
}

type Probe = Result<Compute, Unavailable>;

/// Resolve a request to a backend. `Ok` may carry a one-line note for the user (what `auto`
/// chose and why); a backend this build lacks, or a GPU that does not answer, is an error.
pub fn resolve(request: DeviceRequest) -> Result<(Compute, Option<String>), InputError> {
    let (flag, probe) = match request {
        DeviceRequest::Auto => {
            let (compute, note) = auto();
            return Ok((compute, Some(note)));
        }
        DeviceRequest::Cpu => return Ok((Compute::Flex, None)),
        DeviceRequest::Cuda(index) => (format!("cuda:{index}"), cuda(index)),
        DeviceRequest::LibTorch => ("libtorch".to_string(), libtorch()),
        DeviceRequest::LibTorchCuda(index) => {
            (format!("libtorch-cuda:{index}"), libtorch_cuda(index))
        }
        DeviceRequest::Wgpu(listed) => (
            listed.map_or("wgpu".to_string(), |index| format!("wgpu:{index}")),
            wgpu(listed),
        ),
        DeviceRequest::NdArray => ("ndarray".to_string(), ndarray()),
    };
    probe.map(|compute| (compute, None)).map_err(|why| match why {
        Unavailable::NotBuilt { feature } => InputError::new(format!(
            "--device {flag}: this aelab was built without it; rebuild with `cargo build --release --features {feature}`"
        )),
        Unavailable::NoDevice(why) => InputError::new(format!("--device {flag}: {why}")),
    })
}

/// The fastest device this build has that answers: a GPU through LibTorch (cuDNN kernels, no
/// compilation at start), then through burn's CUDA, then any other GPU through wgpu (a
/// software renderer is not taken: it is far slower than the CPU backends), then LibTorch's
/// CPU kernels (oneDNN), then flex. The note says in one line what was chosen and why.
fn auto() -> (Compute, String) {
    let mut silent_gpus = Vec::new();
    for gpu in [libtorch_cuda, cuda, wgpu_gpu] {
        match gpu(0) {
            Ok(compute) => {
                return (
                    compute,
                    format!("device: {compute}, the fastest this build has"),
                );
            }
            Err(Unavailable::NoDevice(why)) => silent_gpus.push(why),
            Err(Unavailable::NotBuilt { .. }) => {}
        }
    }
    let compute = libtorch().unwrap_or(Compute::Flex);
    let why = if silent_gpus.is_empty() {
        "this build has no GPU backend".to_string()
    } else {
        format!("no GPU answered: {}", silent_gpus.join("; "))
    };
    let cpu = if compute == Compute::Flex {
        "the only CPU backend built"
    } else {
        "the fastest CPU backend built"
    };
    (compute, format!("device: {compute}, {cpu} ({why})"))
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Probe {
    cuda_probe::check(index)
        .map(|()| Compute::Cuda(index))
        .map_err(Unavailable::NoDevice)
}

#[cfg(not(feature = "cuda"))]
fn cuda(_: usize) -> Probe {
    Err(Unavailable::NotBuilt { feature: "cuda" })
}

#[cfg(feature = "tch")]
fn libtorch() -> Probe {
    Ok(Compute::LibTorch)
}

/// tch panics on a CUDA device it cannot use, so ask libtorch first.
#[cfg(feature = "tch")]
fn libtorch_cuda(index: usize) -> Probe {
    if !tch::Cuda::is_available() {
        return Err(Unavailable::NoDevice(
            "LibTorch finds no CUDA GPU (no NVIDIA driver, or a libtorch built without CUDA)"
                .into(),
        ));
    }
    let count = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    if index >= count {
        return Err(Unavailable::NoDevice(format!(
            "GPU {index} requested, but LibTorch sees {count} GPU(s)"
        )));
    }
    Ok(Compute::LibTorchCuda(index))
}

#[cfg(not(feature = "tch"))]
fn libtorch() -> Probe {
    Err(Unavailable::NotBuilt { feature: "tch" })
}

#[cfg(not(feature = "tch"))]
fn libtorch_cuda(_: usize) -> Probe {
    Err(Unavailable::NotBuilt { feature: "tch" })
}

#[cfg(feature = "wgpu")]
fn wgpu(listed: Option<usize>) -> Probe {
    wgpu_adapters::find(listed)
        .map(Compute::Wgpu)
        .map_err(Unavailable::NoDevice)
}

#[cfg(not(feature = "wgpu"))]
fn wgpu(_: Option<usize>) -> Probe {
    Err(Unavailable::NotBuilt { feature: "wgpu" })
}

/// For `auto`: wgpu's preferred adapter, if it is a GPU.
fn wgpu_gpu(_: usize) -> Probe {
    match wgpu(None)? {
        #[cfg(feature = "wgpu")]
        Compute::Wgpu(adapter) if adapter.software => Err(Unavailable::NoDevice(format!(
            "wgpu's preferred adapter, {}, is a software renderer",
            adapter.name
        ))),
        compute => Ok(compute),
    }
}

#[cfg(feature = "ndarray")]
fn ndarray() -> Probe {
    Ok(Compute::NdArray)
}

#[cfg(not(feature = "ndarray"))]
fn ndarray() -> Probe {
    Err(Unavailable::NotBuilt { feature: "ndarray" })
}

/// libtorch's OpenMP threads spin while they wait for work, so with another busy process on
/// a 2-core machine a training step took 3-4 times longer (measured: 15-17 s for an epoch
/// that takes 4 s idle). GNU OpenMP reads its settings once, as the library loads before
/// `main`, so a LibTorch build that finds neither `OMP_WAIT_POLICY` nor `GOMP_SPINCOUNT` set
/// starts itself again with a short spin (`GOMP_SPINCOUNT=10000`: 10 s loaded, 4 s idle;
/// `OMP_WAIT_POLICY=PASSIVE` is as good loaded but up to 30% slower idle). A user's own
/// setting is kept.
#[cfg(feature = "tch")]
pub fn openmp_spins_briefly() {
    #[cfg(unix)]
    if std::env::var_os("OMP_WAIT_POLICY").is_none()
        && std::env::var_os("GOMP_SPINCOUNT").is_none()
        && let Ok(exe) = std::env::current_exe()
    {
        use std::os::unix::process::CommandExt;
        let mut args = std::env::args_os();
        let name = args.next().unwrap_or_else(|| exe.clone().into_os_string());
        // `exec` returns only if it failed: then run on with OpenMP's defaults.
        let _ = std::process::Command::new(&exe)
            .arg0(name)
            .args(args)
            .env("GOMP_SPINCOUNT", "10000")
            .exec();
    }
}

/// Work that runs on whichever autodiff backend was chosen.
pub trait BackendJob {
    type Output;
    fn run<B: TrainBackend>(self, device: B::Device) -> Self::Output;
}

/// Run `job` on the backend `compute` names.
pub fn dispatch<J: BackendJob>(compute: Compute, job: J) -> J::Output {
    #[cfg(feature = "tch")]
    use burn::backend::{LibTorch, libtorch::LibTorchDevice};
    match compute {
        Compute::Flex => job.run::<Autodiff<Flex>>(Default::default()),
        #[cfg(feature = "cuda")]
        Compute::Cuda(index) => {
            job.run::<Autodiff<burn::backend::Cuda>>(burn::backend::cuda::CudaDevice::new(index))
        }
        #[cfg(feature = "tch")]
        Compute::LibTorch => job.run::<Autodiff<LibTorch>>(LibTorchDevice::Cpu),
        #[cfg(feature = "tch")]
        Compute::LibTorchCuda(index) => job.run::<Autodiff<LibTorch>>(LibTorchDevice::Cuda(index)),
        #[cfg(feature = "wgpu")]
        Compute::Wgpu(adapter) => job.run::<Autodiff<burn::backend::Wgpu>>(adapter.device()),
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
        assert_eq!("libtorch".parse(), Ok(DeviceRequest::LibTorch));
        assert_eq!("LibTorch-CUDA".parse(), Ok(DeviceRequest::LibTorchCuda(0)));
        assert_eq!(
            "libtorch-cuda:1".parse(),
            Ok(DeviceRequest::LibTorchCuda(1))
        );
        let err = "tpu".parse::<DeviceRequest>().unwrap_err();
        assert!(err.contains("cuda:N") && err.contains("libtorch"), "{err}");
        for bad in [
            "cuda:x",
            "cuda2",
            "libtorch-cuda:",
            "libtorch-cudax",
            "cuda:-1",
        ] {
            assert!(bad.parse::<DeviceRequest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_says_what_it_chose() {
        let (compute, note) = resolve(DeviceRequest::Auto).unwrap();
        let note = note.expect("auto always says what it chose");
        assert!(note.contains(&compute.to_string()), "{note}");
        assert_eq!(note.lines().count(), 1, "{note}");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_names_it() {
        let err = resolve(DeviceRequest::Cuda(0)).unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }

    #[cfg(not(feature = "tch"))]
    #[test]
    fn libtorch_without_the_feature_names_it() {
        for request in [DeviceRequest::LibTorch, DeviceRequest::LibTorchCuda(0)] {
            let err = resolve(request).unwrap_err().to_string();
            assert!(err.contains("--features tch"), "{err}");
        }
        #[cfg(not(feature = "cuda"))]
        assert_eq!(resolve(DeviceRequest::Auto).unwrap().0, Compute::Flex);
    }

    #[test]
    fn wgpu_names_parse() {
        assert_eq!("wgpu".parse(), Ok(DeviceRequest::Wgpu(None)));
        assert_eq!("WGPU:1".parse(), Ok(DeviceRequest::Wgpu(Some(1))));
        assert!("wgpu:".parse::<DeviceRequest>().is_err());
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn wgpu_without_the_feature_names_it() {
        let err = resolve(DeviceRequest::Wgpu(None)).unwrap_err().to_string();
        assert!(err.contains("--features wgpu"), "{err}");
    }

    #[cfg(feature = "tch")]
    #[test]
    fn auto_prefers_libtorch_on_the_cpu() {
        let (compute, _) = resolve(DeviceRequest::Auto).unwrap();
        if !tch::Cuda::is_available() {
            #[cfg(feature = "cuda")]
            assert!(
                matches!(compute, Compute::LibTorch | Compute::Cuda(_)),
                "{compute}"
            );
            #[cfg(not(feature = "cuda"))]
            assert_eq!(compute, Compute::LibTorch);
        }
    }
}
