//! The compute device for tensor work: CUDA when asked for or available, else the CPU.

use crate::error::FarmError;
use spinbot_core::InputError;
use std::str::FromStr;
use tch::Device;

/// What the user asked for (`--device`, `SPINBOT_DEVICE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    #[default]
    Auto,
    Cpu,
    Cuda,
}

impl FromStr for DeviceChoice {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            other => Err(InputError::Option(format!(
                "The device must be auto, cpu or cuda, not \"{other}\"."
            ))),
        }
    }
}

impl DeviceChoice {
    /// Resolves the choice to a device, loading libtorch's CUDA backend when needed.
    pub fn resolve(self) -> Result<Device, FarmError> {
        let device = match self {
            Self::Cpu => Device::Cpu,
            Self::Auto => {
                if cuda_available() {
                    Device::Cuda(0)
                } else {
                    Device::Cpu
                }
            }
            Self::Cuda => {
                if !cuda_available() {
                    return Err(FarmError::Device(
                        "CUDA was asked for but no CUDA device or libtorch_cuda.so is available"
                            .into(),
                    ));
                }
                Device::Cuda(0)
            }
        };
        tracing::info!(device = ?device, "compute device");
        Ok(device)
    }
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
    fn choices_parse() {
        assert_eq!("CPU".parse::<DeviceChoice>(), Ok(DeviceChoice::Cpu));
        assert_eq!("auto".parse::<DeviceChoice>(), Ok(DeviceChoice::Auto));
        assert_eq!("cuda".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda));
        assert!("tpu".parse::<DeviceChoice>().is_err());
    }
}
