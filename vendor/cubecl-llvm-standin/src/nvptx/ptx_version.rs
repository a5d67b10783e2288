//! The PTX ISA version for the installed driver.

use core::fmt;

/// A PTX ISA version, 8.7 held as `87`.
///
/// Exists because `cubecl-cuda` computes one at device initialisation whichever backend it
/// runs, stores it in its compilation options and puts it in the LLVM backend's cache
/// namespace. Nothing here emits PTX, but the value is worked out as the real crate does, so
/// that initialisation and the cache namespace behave the same as with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PtxVersion(u32);

impl PtxVersion {
    /// The newest PTX ISA version a driver of CUDA `driver` loads, with `driver` as
    /// `cuDriverGetVersion` reports it (12.8 is `12080`); `None` below CUDA 10.0. Capped at 9.3.
    ///
    /// Called unconditionally by `cubecl-cuda`'s device initialisation, so it must not fail.
    pub fn for_driver(driver: i32) -> Option<Self> {
        let driver = u32::try_from(driver).ok()?;
        let (major, minor) = (driver / 1000, (driver % 1000) / 10);
        let isa = match major {
            0..=9 => return None,
            10 => 63 + minor.min(2),
            11 => 70 + minor.min(8),
            12 => match minor {
                0..=5 => 80 + minor,
                6 | 7 => 85,
                8 => 87,
                _ => 88,
            },
            13 => 90 + minor.min(3),
            _ => 93,
        };
        Some(Self(isa))
    }
}

/// `cubecl-cuda` formats the version into a cache namespace (`…-llvm-ptx87`).
impl fmt::Display for PtxVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ptx{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::PtxVersion;

    #[test]
    fn follows_the_driver() {
        assert_eq!(PtxVersion::for_driver(9020), None);
        assert_eq!(PtxVersion::for_driver(-1), None);
        assert_eq!(PtxVersion::for_driver(10000), Some(PtxVersion(63)));
        assert_eq!(PtxVersion::for_driver(11080), Some(PtxVersion(78)));
        assert_eq!(PtxVersion::for_driver(12060), Some(PtxVersion(85)));
        assert_eq!(PtxVersion::for_driver(12080), Some(PtxVersion(87)));
        assert_eq!(PtxVersion::for_driver(12090), Some(PtxVersion(88)));
        assert_eq!(PtxVersion::for_driver(13050), Some(PtxVersion(93)));
        assert_eq!(PtxVersion(87).to_string(), "ptx87");
    }
}
