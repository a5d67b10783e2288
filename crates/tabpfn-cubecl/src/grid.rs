//! Cube grids for index spaces larger than one grid axis allows.

/// The most cubes per grid axis every backend accepts (Vulkan's guaranteed
/// `maxComputeWorkGroupCount`, also CUDA's limit on y and z).
pub(crate) const MAX_CUBES_PER_AXIS: usize = 65_535;

/// `n` cubes as `(y, z)` with `y·z ≥ n`, both within [`MAX_CUBES_PER_AXIS`]; a kernel
/// recovers its index as `z·CUBE_COUNT_Y + y` and stops past `n`.
pub(crate) fn split_count(n: usize) -> (u32, u32) {
    let y = n.clamp(1, MAX_CUBES_PER_AXIS);
    (y as u32, n.div_ceil(y).max(1) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_every_index_within_the_axis_limit() {
        for n in [1, 2, 65_535, 65_536, 200_000, 65_535 * 65_535] {
            let (y, z) = split_count(n);
            assert!(y as usize <= MAX_CUBES_PER_AXIS && z as usize <= MAX_CUBES_PER_AXIS);
            assert!(y as usize * z as usize >= n, "{n}");
        }
    }
}
