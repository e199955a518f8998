//! The compute devices for tensor work: every visible GPU, or the one asked for, else the
//! CPU; and how a worker's render slots spread over them.

use crate::error::FarmError;
use spinbot_core::DeviceChoice;
use tch::Device;

/// The devices a choice means: `auto` is every visible GPU or else the CPU, `cuda` every
/// visible GPU, `cuda:N` that one. Loads libtorch's CUDA backend when needed.
pub fn devices(choice: DeviceChoice) -> Result<Vec<Device>, FarmError> {
    let gpus = || {
        if cuda_available() {
            tch::Cuda::device_count().max(0) as usize
        } else {
            0
        }
    };
    let devices = match choice {
        DeviceChoice::Cpu => vec![Device::Cpu],
        DeviceChoice::Auto => match gpus() {
            0 => vec![Device::Cpu],
            n => (0..n).map(Device::Cuda).collect(),
        },
        DeviceChoice::Cuda(which) => {
            let count = gpus();
            if count == 0 {
                return Err(FarmError::Device(
                    "CUDA was asked for but no CUDA device or libtorch_cuda.so is available".into(),
                ));
            }
            match which {
                None => (0..count).map(Device::Cuda).collect(),
                Some(n) if n < count => vec![Device::Cuda(n)],
                Some(n) => {
                    return Err(FarmError::Device(format!(
                    "cuda:{n} was asked for but there {} only {count} GPU{} (cuda:0 to cuda:{})",
                    if count == 1 { "is" } else { "are" },
                    if count == 1 { "" } else { "s" },
                    count - 1
                )))
                }
            }
        }
    };
    tracing::info!(devices = ?devices, "compute devices");
    Ok(devices)
}

/// The one device for a single render: the first of [`devices`].
pub fn resolve(choice: DeviceChoice) -> Result<Device, FarmError> {
    Ok(devices(choice)?.first().copied().unwrap_or(Device::Cpu))
}

/// The device of each render slot: one per device unless `concurrency` says how many, then
/// spread round-robin over the devices.
pub fn slot_devices(devices: &[Device], concurrency: Option<usize>) -> Vec<Device> {
    let devices = if devices.is_empty() {
        &[Device::Cpu][..]
    } else {
        devices
    };
    let slots = concurrency.unwrap_or(devices.len()).max(1);
    (0..slots).map(|i| devices[i % devices.len()]).collect()
}

/// Loads `libtorch_cuda.so` once (the binary links with --as-needed, so it never loads by
/// itself) and tells whether a CUDA device can be used.
pub fn cuda_available() -> bool {
    static LOADED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LOADED.get_or_init(|| {
        // SAFETY: dlopen with a constant, NUL-terminated name; the handle is kept for the
        // life of the process on purpose (the backend registers itself when loaded).
        let handle = unsafe {
            libc::dlopen(
                c"libtorch_cuda.so".as_ptr(),
                libc::RTLD_NOW | libc::RTLD_GLOBAL,
            )
        };
        if handle.is_null() {
            // SAFETY: dlerror returns NULL or a valid C string owned by libc.
            let why = unsafe {
                let e = libc::dlerror();
                if e.is_null() {
                    String::from("unknown reason")
                } else {
                    std::ffi::CStr::from_ptr(e).to_string_lossy().into_owned()
                }
            };
            tracing::debug!(%why, "libtorch_cuda.so not loaded; CPU only");
            return false;
        }
        tch::Cuda::is_available()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_per_gpu_unless_told() {
        let gpus = [Device::Cuda(0), Device::Cuda(1), Device::Cuda(2)];
        assert_eq!(slot_devices(&gpus, None), gpus.to_vec());
        assert_eq!(
            slot_devices(&gpus, Some(4)),
            vec![
                Device::Cuda(0),
                Device::Cuda(1),
                Device::Cuda(2),
                Device::Cuda(0)
            ]
        );
        assert_eq!(slot_devices(&[Device::Cpu], None), vec![Device::Cpu]);
        assert_eq!(
            slot_devices(&[Device::Cpu], Some(2)),
            vec![Device::Cpu, Device::Cpu]
        );
        assert_eq!(slot_devices(&[], Some(0)), vec![Device::Cpu]);
    }

    #[test]
    fn the_cpu_is_always_there() {
        assert_eq!(devices(DeviceChoice::Cpu).expect("cpu"), vec![Device::Cpu]);
        if !cuda_available() {
            assert!(devices(DeviceChoice::Cuda(Some(1))).is_err());
            assert_eq!(
                devices(DeviceChoice::Auto).expect("auto"),
                vec![Device::Cpu]
            );
        }
    }
}
