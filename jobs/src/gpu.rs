//! The GPUs' figures for the metrics: each GPU's utilisation and memory, read through NVML
//! (the NVIDIA driver's management library, loaded at run time). Without a driver there
//! are none.

use nvml_wrapper::Nvml;
use std::sync::OnceLock;

/// One GPU's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuFigures {
    pub index: u32,
    /// Share of the last sample period the GPU was busy, 0 to 1.
    pub utilization: f64,
    pub memory_used: u64,
    pub memory_total: u64,
}

/// NVML, initialised once; `None` where there is no NVIDIA driver.
fn nvml() -> Option<&'static Nvml> {
    static NVML: OnceLock<Option<Nvml>> = OnceLock::new();
    NVML.get_or_init(|| {
        Nvml::init()
            .inspect_err(|e| tracing::info!(error = %e, "no GPU figures: NVML is not available"))
            .ok()
    })
    .as_ref()
}

/// Every GPU's figures now (none without NVML). Blocking: call it on a blocking thread.
pub fn read() -> Vec<GpuFigures> {
    let Some(nvml) = nvml() else {
        return Vec::new();
    };
    let count = nvml.device_count().unwrap_or(0);
    (0..count)
        .filter_map(|index| {
            let device = nvml.device_by_index(index).ok()?;
            let utilization = device.utilization_rates().ok()?;
            let memory = device.memory_info().ok()?;
            Some(GpuFigures {
                index,
                utilization: f64::from(utilization.gpu) / 100.0,
                memory_used: memory.used,
                memory_total: memory.total,
            })
        })
        .collect()
}
