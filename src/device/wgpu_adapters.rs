//! The graphics adapters burn's wgpu backend can run on, listed through wgpu itself before
//! burn touches them: burn's device setup panics on a machine with none, and cannot say
//! whether an adapter is a GPU or a software renderer (Mesa's lavapipe, llvmpipe).

use std::future::Future;
use std::task::{Context, Poll, Waker};

use burn::backend::wgpu::WgpuDevice;
use burn::backend::wgpu::graphics::{AutoGraphicsApi, GraphicsApi};
use wgpu::{DeviceType, PowerPreference, RequestAdapterOptions};

/// One adapter, as chosen from the user's `wgpu` or `wgpu:N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WgpuAdapter {
    /// The user's `N`, or `None` for the adapter wgpu prefers (a high-performance one).
    pub listed: Option<usize>,
    /// The adapter's name as its driver gives it, e.g. "AMD Radeon RX 7600 (RADV NAVI33)".
    pub name: &'static str,
    /// A software renderer (the CPU), not a GPU.
    pub software: bool,
    /// burn's name for it: its kind and its place among adapters of that kind.
    kind: DeviceType,
    nth_of_kind: usize,
}

impl WgpuAdapter {
    /// burn's device for this adapter.
    pub fn device(&self) -> WgpuDevice {
        match (self.listed, self.kind) {
            (None, _) => WgpuDevice::DefaultDevice,
            (Some(_), DeviceType::DiscreteGpu) => WgpuDevice::DiscreteGpu(self.nth_of_kind),
            (Some(_), DeviceType::IntegratedGpu) => WgpuDevice::IntegratedGpu(self.nth_of_kind),
            (Some(_), DeviceType::VirtualGpu) => WgpuDevice::VirtualGpu(self.nth_of_kind),
            (Some(_), DeviceType::Cpu | DeviceType::Other) => WgpuDevice::Cpu,
        }
    }
}

/// The graphics API burn's wgpu backend uses here: Metal on macOS, Vulkan elsewhere.
fn api() -> wgpu::Backend {
    AutoGraphicsApi::backend()
}

/// The adapter `wgpu` (`listed` = `None`) or `wgpu:N` names, or why there is none.
pub fn find(listed: Option<usize>) -> Result<WgpuAdapter, String> {
    let api = api();
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: api.into(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters: Vec<wgpu::AdapterInfo> = block_on(instance.enumerate_adapters(api.into()))
        .iter()
        .map(wgpu::Adapter::get_info)
        .collect();
    if adapters.is_empty() {
        return Err(format!(
            "no graphics adapter answers through {api} (install your GPU's {api} driver; on Linux \
             Mesa's mesa-vulkan-drivers and libvulkan1 give AMD, Intel and a software one)"
        ));
    }
    let info = match listed {
        // What burn's default device asks wgpu for.
        None => block_on(instance.request_adapter(&RequestAdapterOptions {
            power_preference: PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
        }))
        .map_err(|e| format!("wgpu offers no default adapter: {e}"))?
        .get_info(),
        Some(index) => adapters.get(index).cloned().ok_or_else(|| {
            format!(
                "adapter {index} requested, but wgpu lists {} ({})",
                adapters.len(),
                names(&adapters)
            )
        })?,
    };
    let nth_of_kind = adapters
        .iter()
        .filter(|other| other.device_type == info.device_type)
        .position(|other| *other == info)
        .unwrap_or(0);
    if listed.is_some() && info.device_type == DeviceType::Other {
        return Err(format!(
            "adapter '{}' is of a kind burn cannot select by number: use --device wgpu",
            info.name
        ));
    }
    Ok(WgpuAdapter {
        listed,
        name: Box::leak(info.name.clone().into_boxed_str()),
        software: info.device_type == DeviceType::Cpu,
        kind: info.device_type,
        nth_of_kind,
    })
}

/// "0: NAME, 1: NAME", for an error that lists what there is.
fn names(adapters: &[wgpu::AdapterInfo]) -> String {
    let listed: Vec<String> = adapters
        .iter()
        .enumerate()
        .map(|(i, info)| format!("{i}: {}", info.name))
        .collect();
    listed.join(", ")
}

/// Native wgpu answers these at once; a poll loop saves an executor dependency.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}
