//! The regression head: a distribution over buckets ("bars") between `borders`, with
//! half-normal tails in the outer buckets for the mean (reference
//! `FullSupportBarDistribution`, `architectures/base/bar_distribution.py`).

use crate::error::{ModelError, Result};

/// `Φ⁻¹_HalfNormal(0.5) = √2·erfinv(0.5)`: the half-normal scale whose median is 1.
const HALFNORMAL_MEDIAN: f64 = 0.674_489_750_196_081_7;

/// A bar distribution over `borders` (`[K + 1]`, ascending).
#[derive(Debug, Clone, PartialEq)]
pub struct BarDistribution {
    borders: Vec<f32>,
}

impl BarDistribution {
    /// Checks that the borders are finite, ascending, with positive outer widths.
    pub fn new(borders: Vec<f32>) -> Result<Self> {
        let bad = |reason: &str| ModelError::Weights {
            name: "criterion.borders".into(),
            reason: reason.into(),
        };
        if borders.len() < 3 {
            return Err(bad("need at least 2 buckets"));
        }
        if borders.iter().any(|b| !b.is_finite()) || borders.windows(2).any(|w| w[1] < w[0]) {
            return Err(bad("borders must be finite and ascending"));
        }
        let k = borders.len() - 1;
        if borders[1] <= borders[0] || borders[k] <= borders[k - 1] {
            return Err(bad("the outer buckets need a positive width"));
        }
        Ok(Self { borders })
    }

    pub fn borders(&self) -> &[f32] {
        &self.borders
    }

    /// Number of buckets K.
    pub fn num_bars(&self) -> usize {
        self.borders.len() - 1
    }

    fn width(&self, i: usize) -> f32 {
        self.borders[i + 1] - self.borders[i]
    }

    fn check(&self, logits: &[f32]) -> Result<()> {
        if logits.len() != self.num_bars() {
            return Err(ModelError::Input {
                name: "logits".into(),
                reason: format!(
                    "has {} values, the distribution has {} buckets",
                    logits.len(),
                    self.num_bars()
                ),
            });
        }
        Ok(())
    }

    /// Softmax of one row of logits.
    pub fn probs(&self, logits: &[f32]) -> Result<Vec<f32>> {
        self.check(logits)?;
        Ok(softmax(logits))
    }

    /// Mean, with the outer buckets replaced by half-normal tails.
    pub fn mean(&self, logits: &[f32]) -> Result<f32> {
        let p = self.probs(logits)?;
        let k = self.num_bars();
        let tail = |w: f32| {
            ((w as f64 / HALFNORMAL_MEDIAN) as f32) as f64 * (2.0 / std::f64::consts::PI).sqrt()
        };
        let mut acc = 0.0f64;
        for (i, &pi) in p.iter().enumerate() {
            let c = if i == 0 {
                -(tail(self.width(0)) as f32) + self.borders[1]
            } else if i == k - 1 {
                tail(self.width(k - 1)) as f32 + self.borders[k - 1]
            } else {
                self.borders[i] + self.width(i) / 2.0
            };
            acc += pi as f64 * c as f64;
        }
        Ok(acc as f32)
    }

    /// The `q`-quantile: linear inside the bucket where the CDF crosses `q`
    /// (searchsorted-left on the cumulative probabilities).
    pub fn icdf(&self, logits: &[f32], q: f32) -> Result<f32> {
        let p = self.probs(logits)?;
        let k = p.len();
        // torch's CPU cumsum accumulates in double and stores float
        let mut cum = Vec::with_capacity(k);
        let mut acc = 0.0f64;
        for &pi in &p {
            acc += pi as f64;
            cum.push(acc as f32);
        }
        let idx = cum.iter().position(|&c| c >= q).unwrap_or(k).min(k - 1);
        let before = if idx == 0 { 0.0 } else { cum[idx - 1] };
        let rest = q - before;
        Ok(self.borders[idx] + self.width(idx) * rest / p[idx])
    }

    pub fn median(&self, logits: &[f32]) -> Result<f32> {
        self.icdf(logits, 0.5)
    }

    /// Centre of the bucket with the highest density `p / width`.
    pub fn mode(&self, logits: &[f32]) -> Result<f32> {
        let p = self.probs(logits)?;
        let mut best = 0;
        let mut best_d = f32::NEG_INFINITY;
        for (i, &pi) in p.iter().enumerate() {
            let d = pi / self.width(i);
            if d > best_d {
                best_d = d;
                best = i;
            }
        }
        Ok(self.borders[best] + self.width(best) / 2.0)
    }
}

/// Softmax in f64, rounded to f32.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return vec![f32::NAN; logits.len()];
    }
    let e: Vec<f64> = logits.iter().map(|&l| ((l - max) as f64).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| (v / s) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_logits_on_symmetric_borders() {
        let d = BarDistribution::new(vec![-2.0, -1.0, 0.0, 1.0, 2.0]).unwrap();
        let l = [0.0; 4];
        assert!(d.mean(&l).unwrap().abs() < 1e-6);
        assert!(d.median(&l).unwrap().abs() < 1e-6);
        assert!((d.icdf(&l, 0.25).unwrap() + 1.0).abs() < 1e-6);
    }

    #[test]
    fn rejects_unsorted_borders() {
        assert!(BarDistribution::new(vec![0.0, 2.0, 1.0, 3.0]).is_err());
    }
}
