//! The library half of `tabpfn-cli`: the table readers and writers behind its commands,
//! public so that the fuzz targets (`fuzz/`) and tests drive exactly the code the binary
//! runs. Not a stable API; Rust programs use `tabpfn-model`.

pub mod csv_input;
pub mod device;
pub mod input;
pub mod npz;
pub mod output;
pub mod parquet_io;
pub mod predict;
