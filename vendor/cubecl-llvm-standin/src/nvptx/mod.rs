//! The NVPTX items `cubecl-cuda` names: only the PTX version it reads off the driver.

pub mod ptx_version;
