//! `--device` → a Burn device (names and errors live in `tabpfn_model::device`).

use anyhow::Result;
use burn::tensor::Device;

pub fn parse(name: &str) -> Result<Device> {
    Ok(tabpfn_model::device::by_name(name)?)
}
