//! Test helpers shared by every crate's numeric tests.
//!
//! [`assert_close`] is the one comparison of the workspace: it fails on a length mismatch,
//! on any NaN (on either side) and on an infinity the other side does not have — cases
//! where a plain `fold(0.0, f32::max)` over `|a − b|` silently reports 0, since
//! `f32::max(NaN, x)` is `x`. On failure it prints the worst index, both values and the
//! tolerance.

use std::fmt::Display;
use std::path::PathBuf;

/// A float type the comparison accepts.
pub trait Float: Copy + Display {
    /// The value as f64 (exact for f32).
    fn to_f64(self) -> f64;
}

impl Float for f32 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    fn to_f64(self) -> f64 {
        self
    }
}

/// Allowed difference: `|got − want| ≤ abs + rel · |want|`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub abs: f64,
    pub rel: f64,
}

impl Tolerance {
    /// An absolute tolerance.
    pub const fn abs(abs: f64) -> Self {
        Self { abs, rel: 0.0 }
    }

    /// A relative tolerance (plus `abs` near zero).
    pub const fn rel(rel: f64, abs: f64) -> Self {
        Self { abs, rel }
    }

    fn allows(&self, diff: f64, want: f64) -> bool {
        diff <= self.abs + self.rel * want.abs()
    }
}

impl From<f64> for Tolerance {
    fn from(abs: f64) -> Self {
        Self::abs(abs)
    }
}

impl Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.rel == 0.0 {
            write!(f, "{:e} abs", self.abs)
        } else {
            write!(f, "{:e} abs + {:e} × |want|", self.abs, self.rel)
        }
    }
}

/// Why two sequences are not close.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// Different lengths.
    Length { got: usize, want: usize },
    /// A NaN, or an infinity on one side only, at `index`.
    NonFinite { index: usize, got: f64, want: f64 },
    /// The worst difference exceeds the tolerance.
    TooFar {
        index: usize,
        got: f64,
        want: f64,
        diff: f64,
    },
}

/// The largest `|got − want|` over the pairs (0 for two empty slices; equal infinities
/// count as 0), and its index; an error on a length mismatch, a NaN or a one-sided
/// infinity.
pub fn max_abs_diff<T: Float>(got: &[T], want: &[T]) -> Result<(f64, usize), Mismatch> {
    if got.len() != want.len() {
        return Err(Mismatch::Length {
            got: got.len(),
            want: want.len(),
        });
    }
    let mut worst = (0.0f64, 0usize);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (g.to_f64(), w.to_f64());
        if g.is_nan() || w.is_nan() || (g.is_infinite() || w.is_infinite()) && g != w {
            return Err(Mismatch::NonFinite {
                index: i,
                got: g,
                want: w,
            });
        }
        let d = if g == w { 0.0 } else { (g - w).abs() };
        if d > worst.0 {
            worst = (d, i);
        }
    }
    Ok(worst)
}

/// Checks `got` against `want` within `tol` without panicking; `Ok` holds the largest
/// absolute difference.
pub fn check_close<T: Float>(
    got: &[T],
    want: &[T],
    tol: impl Into<Tolerance>,
) -> Result<f64, Mismatch> {
    let tol = tol.into();
    let (worst, _) = max_abs_diff(got, want)?;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (g.to_f64(), w.to_f64());
        if g == w {
            continue;
        }
        let d = (g - w).abs();
        if !tol.allows(d, w) {
            return Err(Mismatch::TooFar {
                index: i,
                got: g,
                want: w,
                diff: d,
            });
        }
    }
    Ok(worst)
}

/// Asserts that `got` matches `want` within `tol` (see the crate docs for what fails) and
/// returns the largest absolute difference, for the test to print. `what` names the
/// compared quantity in the failure message.
#[track_caller]
pub fn assert_close<T: Float>(what: &str, got: &[T], want: &[T], tol: impl Into<Tolerance>) -> f64 {
    let tol = tol.into();
    match check_close(got, want, tol) {
        Ok(worst) => worst,
        Err(m) => panic!("{what}: {}", describe(&m, tol)),
    }
}

fn describe(m: &Mismatch, tol: Tolerance) -> String {
    match m {
        Mismatch::Length { got, want } => {
            format!("length mismatch: got {got} values, want {want}")
        }
        Mismatch::NonFinite { index, got, want } => {
            format!("non-finite mismatch at index {index}: got {got}, want {want}")
        }
        Mismatch::TooFar {
            index,
            got,
            want,
            diff,
        } => format!(
            "at index {index}: got {got}, want {want}, |Δ| = {diff:e} exceeds the tolerance \
             {tol}"
        ),
    }
}

/// The workspace's `fixtures/` directory (tests read the committed reference outputs).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A zip archive of `(name, bytes, deflate)` entries, as torch checkpoints and numpy's
/// `.npz` files are: for building hostile inputs that get past the zip CRC.
pub fn zip_archive(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, deflate) in entries {
        let method = if *deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file(*name, opts).expect("zip entry");
        w.write_all(data).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_values_pass_and_report_the_worst_difference() {
        let d = assert_close("x", &[1.0f32, 2.0, 3.0], &[1.0, 2.0 + 1e-6, 3.0], 1e-5);
        assert!(d > 0.0 && d < 1e-5);
        assert_eq!(assert_close("empty", &[] as &[f64], &[], 0.0), 0.0);
        // equal infinities match
        assert_eq!(
            assert_close("inf", &[f64::INFINITY], &[f64::INFINITY], 0.0),
            0.0
        );
    }

    #[test]
    #[should_panic(expected = "non-finite mismatch at index 1")]
    fn a_nan_output_fails() {
        // the comparison a NaN-blind fold would pass: max(|NaN − 2|, |1 − 1|) = 0
        assert_close("logits", &[1.0f32, f32::NAN], &[1.0, 2.0], 1e-5);
    }

    #[test]
    #[should_panic(expected = "non-finite mismatch")]
    fn nan_on_both_sides_fails_too() {
        assert_close("logits", &[f32::NAN], &[f32::NAN], 1e-5);
    }

    #[test]
    #[should_panic(expected = "non-finite mismatch")]
    fn a_one_sided_infinity_fails() {
        assert_close("p", &[f64::INFINITY], &[1e300], 1.0);
    }

    #[test]
    #[should_panic(expected = "length mismatch: got 2 values, want 3")]
    fn a_length_mismatch_fails() {
        assert_close("p", &[1.0f32, 2.0], &[1.0, 2.0, 3.0], 1.0);
    }

    #[test]
    #[should_panic(expected = "exceeds the tolerance")]
    fn a_large_difference_fails() {
        assert_close("p", &[1.0f64, 2.5], &[1.0, 2.0], 0.1);
    }

    #[test]
    fn relative_tolerance_scales_with_the_value() {
        assert!(check_close(&[1000.5f64], &[1000.0], Tolerance::rel(1e-3, 0.0)).is_ok());
        assert!(check_close(&[1.5f64], &[1.0], Tolerance::rel(1e-3, 0.0)).is_err());
    }
}
