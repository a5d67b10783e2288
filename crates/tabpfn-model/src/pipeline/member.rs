//! One ensemble member's preprocessing (`EnsembleConfig.to_pipeline`): remove constant
//! columns → reshape feature distributions (+ SVD features) → categorical encoding →
//! SHA-256 fingerprint column → column shuffle. Fitted on train rows, applied unchanged
//! to test rows. Matrices are held column-major (`Vec` of columns) in float64.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::categorical::{CategoricalEncoding, CategoryFilter};
use super::numpy_rng::NumpyRng;
use super::polynomial::{Polynomial, PolynomialFeatures};
use super::power::SafePower;
use super::quantile::QuantileColumn;
use super::svd::SvdFeatures;
use crate::error::{input_err, Result};

/// The per-column distribution transform of a preprocessor config (`name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeatureTransform {
    /// `none`: identity.
    None,
    /// `quantile_uni_coarse`: uniform quantiles, `max(N/10, 2)` of them.
    QuantileUniformCoarse,
    /// `quantile_uni`: uniform quantiles, `max(N/5, 2)` of them.
    QuantileUniform,
    /// `quantile_uni_fine`: uniform quantiles, `N` of them.
    QuantileUniformFine,
    /// `safepower`: Yeo-Johnson + standardisation.
    SafePower,
}

impl FeatureTransform {
    /// Every transform implemented here, by the reference's name.
    pub const ALL: [(&'static str, Self); 5] = [
        ("none", Self::None),
        ("quantile_uni_coarse", Self::QuantileUniformCoarse),
        ("quantile_uni", Self::QuantileUniform),
        ("quantile_uni_fine", Self::QuantileUniformFine),
        ("safepower", Self::SafePower),
    ];

    /// The reference's name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(n, _)| *n)
            .expect("every variant is named")
    }

    /// Quantiles requested for `rows` train rows, `None` for the other transforms.
    fn quantiles(self, rows: usize) -> Option<usize> {
        match self {
            Self::QuantileUniformCoarse => Some((rows / 10).max(2)),
            Self::QuantileUniform => Some((rows / 5).max(2)),
            Self::QuantileUniformFine => Some(rows),
            Self::None | Self::SafePower => None,
        }
    }
}

/// How categorical columns are encoded (`categorical_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CategoricalTransform {
    /// `none`: left as they are (and not fed to the feature transform).
    None,
    /// `numeric`: treated like numbers (also transformed by the feature transform).
    Numeric,
    /// `ordinal`, `ordinal_shuffled`, `ordinal_common_categories[_shuffled]`,
    /// `ordinal_very_common_categories[_shuffled]`.
    Ordinal {
        filter: CategoryFilter,
        shuffled: bool,
    },
    /// `onehot`.
    OneHot,
}

impl CategoricalTransform {
    /// `ordinal_very_common_categories_shuffled`, the configs A/A′.
    pub const ORDINAL_VERY_COMMON_SHUFFLED: Self = Self::Ordinal {
        filter: CategoryFilter::VeryCommon,
        shuffled: true,
    };

    /// Every encoding of the reference, by name.
    pub const ALL: [(&'static str, Self); 9] = [
        ("none", Self::None),
        ("numeric", Self::Numeric),
        ("onehot", Self::OneHot),
        ("ordinal", Self::ordinal(CategoryFilter::All, false)),
        ("ordinal_shuffled", Self::ordinal(CategoryFilter::All, true)),
        (
            "ordinal_common_categories",
            Self::ordinal(CategoryFilter::Common, false),
        ),
        (
            "ordinal_common_categories_shuffled",
            Self::ordinal(CategoryFilter::Common, true),
        ),
        (
            "ordinal_very_common_categories",
            Self::ordinal(CategoryFilter::VeryCommon, false),
        ),
        (
            "ordinal_very_common_categories_shuffled",
            Self::ORDINAL_VERY_COMMON_SHUFFLED,
        ),
    ];

    const fn ordinal(filter: CategoryFilter, shuffled: bool) -> Self {
        Self::Ordinal { filter, shuffled }
    }

    /// The reference's name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(n, _)| *n)
            .expect("every variant is named")
    }
}

/// `append_original`: keep the untransformed columns before the transformed ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppendOriginal {
    /// `"auto"`: iff the member sees fewer than 500 features.
    Auto,
    Always,
    Never,
}

/// A `PreprocessorConfig` of the reference (one entry of `PREPROCESS_TRANSFORMS`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PreprocessorConfig {
    pub transform: FeatureTransform,
    pub append_original: AppendOriginal,
    pub categorical: CategoricalTransform,
    /// Global `svd` transformer (`global_transformer_name="svd"`).
    pub svd: bool,
    /// `subsample_features`: when set (> 0), the member sees `int(f × features) + 1`
    /// features drawn at random (with replacement if that exceeds the features).
    #[serde(default)]
    pub subsample_features: Option<f64>,
}

impl PreprocessorConfig {
    /// Classifier config A.
    pub const CLASSIFIER_A: Self = Self {
        transform: FeatureTransform::QuantileUniformCoarse,
        append_original: AppendOriginal::Auto,
        categorical: CategoricalTransform::ORDINAL_VERY_COMMON_SHUFFLED,
        svd: true,
        subsample_features: None,
    };
    /// Classifier config B.
    pub const CLASSIFIER_B: Self = Self {
        transform: FeatureTransform::None,
        append_original: AppendOriginal::Never,
        categorical: CategoricalTransform::Numeric,
        svd: false,
        subsample_features: None,
    };
    /// Regressor config A′.
    pub const REGRESSOR_A: Self = Self {
        transform: FeatureTransform::QuantileUniform,
        append_original: AppendOriginal::Auto,
        categorical: CategoricalTransform::ORDINAL_VERY_COMMON_SHUFFLED,
        svd: true,
        subsample_features: None,
    };
    /// Regressor config B′.
    pub const REGRESSOR_B: Self = Self {
        transform: FeatureTransform::SafePower,
        append_original: AppendOriginal::Never,
        categorical: CategoricalTransform::OneHot,
        svd: false,
        subsample_features: None,
    };

    /// The reference's name of the feature transform.
    pub fn name(&self) -> &'static str {
        self.transform.name()
    }
}

/// How the last step orders a member's columns (`FEATURE_SHIFT_METHOD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureOrder {
    /// `"shuffle"`: a random permutation from the member seed.
    Shuffle,
    /// `"rotate"`: `np.roll(arange(d), shift)` with the member's drawn shift count.
    Rotate(i64),
    /// `None`: unchanged.
    Keep,
}

/// The member steps that do not depend on the preprocessor config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberSteps {
    /// Append the SHA-256 row fingerprint column (`FINGERPRINT_FEATURE`).
    pub fingerprint: bool,
    pub order: FeatureOrder,
    /// A member whose config does not subsample features, but that has more than this
    /// many (after constant removal), sees a random subset of exactly this many: the
    /// config's `subsample_features` mechanism with the fraction `(max − ½) / features`,
    /// so the reference reproduces it given that fraction.
    pub max_features: Option<usize>,
    /// `POLYNOMIAL_FEATURES`: products of column pairs appended first.
    pub polynomial: PolynomialFeatures,
}

#[derive(Debug, Clone, PartialEq)]
enum ColumnTransform {
    Identity,
    Quantile(Option<QuantileColumn>),
    SafePower(SafePower),
}

impl ColumnTransform {
    fn apply(&self, col: &[f64]) -> Vec<f64> {
        match self {
            Self::Identity => col.to_vec(),
            Self::Quantile(Some(q)) => q.transform_column(col),
            Self::Quantile(None) => vec![f64::NAN; col.len()],
            Self::SafePower(p) => col.iter().map(|&v| p.transform(v)).collect(),
        }
    }
}

/// A fitted member pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberPipeline {
    /// `POLYNOMIAL_FEATURES`, before everything else.
    polynomial: Option<Polynomial>,
    /// Input columns kept by constant removal.
    kept: Vec<usize>,
    /// Columns (after constant removal) the member sees, in order: `subsample_features`.
    subsampled: Option<Vec<usize>>,
    /// Columns (after constant removal) passed through unchanged, in output order.
    passthrough: Vec<usize>,
    /// Columns fed to the feature transform, in output order, with their fitted transform.
    transformed: Vec<(usize, ColumnTransform)>,
    svd: Option<SvdFeatures>,
    categorical: CategoricalEncoding,
    /// Fingerprint salt, `None` without fingerprint feature.
    salt: Option<u64>,
    /// Output column `i` is pre-shuffle column `perm[i]`.
    perm: Vec<usize>,
    /// Categorical indices handed to the network.
    cat_ix: Vec<usize>,
}

/// Train rows of a member, ready for the network.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberMatrix {
    /// Column-major: `columns[j][i]`.
    pub columns: Vec<Vec<f64>>,
    pub rows: usize,
}

impl MemberMatrix {
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// Row-major float32 copy (the network input).
    pub fn to_f32_rows(&self) -> Vec<f32> {
        let cols = self.columns.len();
        let mut out = vec![0f32; self.rows * cols];
        for (j, col) in self.columns.iter().enumerate() {
            for (i, &v) in col.iter().enumerate() {
                out[i * cols + j] = v as f32;
            }
        }
        out
    }
}

/// `int(sha256(bytes).hexdigest(), 16) % 10**12 / 10**12` of a float64 row.
fn float_hash(row: &[f64]) -> f64 {
    let mut hasher = Sha256::new();
    for v in row {
        hasher.update(v.to_le_bytes());
    }
    let digest = hasher.finalize();
    let modulus: u128 = 1_000_000_000_000;
    let mut r: u128 = 0;
    for &b in digest.iter() {
        r = (r * 256 + b as u128) % modulus;
    }
    r as f64 / 1e12
}

fn rows_of(columns: &[Vec<f64>], rows: usize) -> impl Iterator<Item = Vec<f64>> + '_ {
    (0..rows).map(move |i| columns.iter().map(|c| c[i]).collect())
}

/// Train fingerprints: rehash with +1, +2, … until unique (not for all-NaN rows).
fn fingerprint_train(columns: &[Vec<f64>], rows: usize, salt: u64) -> Vec<f64> {
    let mut seen = std::collections::HashSet::new();
    let salt = salt as f64;
    rows_of(columns, rows)
        .map(|row| {
            let salted: Vec<f64> = row.iter().map(|v| v + salt).collect();
            let all_nan = salted.iter().all(|v| v.is_nan());
            let mut h = float_hash(&salted);
            let mut add = 0u64;
            while seen.contains(&h.to_bits()) && !all_nan {
                add += 1;
                let bumped: Vec<f64> = salted.iter().map(|v| v + add as f64).collect();
                h = float_hash(&bumped);
            }
            seen.insert(h.to_bits());
            h
        })
        .collect()
}

/// Test fingerprints: the reference adds the salt twice and resolves no collisions.
fn fingerprint_test(columns: &[Vec<f64>], rows: usize, salt: u64) -> Vec<f64> {
    let salt = salt as f64;
    rows_of(columns, rows)
        .map(|row| {
            let salted: Vec<f64> = row.iter().map(|v| (v + salt) + salt).collect();
            float_hash(&salted)
        })
        .collect()
}

impl MemberPipeline {
    /// Fits the member on train columns `x` (each `rows` long) with categorical indices
    /// `cat`; returns the pipeline and the transformed train matrix.
    pub fn fit_transform(
        config: &PreprocessorConfig,
        x: &[Vec<f64>],
        rows: usize,
        cat: &[usize],
        seed: u64,
        steps: MemberSteps,
    ) -> Result<(Self, MemberMatrix)> {
        // 0. Polynomial features.
        let (polynomial, widened) = Polynomial::fit_transform(x, rows, steps.polynomial, seed)?;
        let x = &widened[..];
        // 1. Constant removal: keep a column unless every value equals the first (NaN ≠ NaN).
        let kept: Vec<usize> = (0..x.len())
            .filter(|&j| rows == 0 || x[j].iter().any(|&v| v != x[j][0]))
            .collect();
        if kept.is_empty() {
            return Err(input_err(
                "X",
                "all features are constant over the training rows; nothing to learn from",
            ));
        }
        let x: Vec<Vec<f64>> = kept.iter().map(|&j| x[j].clone()).collect();
        let cat: Vec<usize> = kept
            .iter()
            .enumerate()
            .filter(|(_, old)| cat.contains(old))
            .map(|(new, _)| new)
            .collect();
        // the SVD's size and its `features ≥ 2` condition count the features before
        // subsampling (the reference builds the global transformer first)
        let svd_components =
            (config.svd && x.len() >= 2).then(|| SvdFeatures::n_components(rows, x.len()));

        // 2. Reshape feature distributions, on a random subset of the features if asked.
        let frac = config.subsample_features.or_else(|| {
            steps
                .max_features
                .filter(|&m| x.len() > m)
                .map(|m| (m as f64 - 0.5) / x.len() as f64)
        });
        let subsampled = frac.map(|frac| subsample_features(frac, x.len(), seed));
        let (x, cat) = match &subsampled {
            Some(idx) => (
                idx.iter().map(|&j| x[j].clone()).collect::<Vec<_>>(),
                idx.iter()
                    .enumerate()
                    .filter(|(_, old)| cat.contains(old))
                    .map(|(new, _)| new)
                    .collect(),
            ),
            None => (x, cat),
        };
        let f = x.len();
        let numeric: Vec<usize> = (0..f).filter(|i| !cat.contains(i)).collect();
        let apply_to_cat = config.categorical == CategoricalTransform::Numeric;
        let append = match config.append_original {
            AppendOriginal::Auto => f < APPEND_TO_ORIGINAL_THRESHOLD,
            AppendOriginal::Always => true,
            AppendOriginal::Never => false,
        };
        let (passthrough, trans_ixs, mut cat_ix): (Vec<usize>, Vec<usize>, Vec<usize>) =
            match (append, apply_to_cat) {
                (true, true) => (
                    (0..f).collect(),
                    [cat.clone(), numeric.clone()].concat(),
                    cat.clone(),
                ),
                (true, false) => ((0..f).collect(), numeric.clone(), cat.clone()),
                (false, true) => (vec![], [cat.clone(), numeric.clone()].concat(), vec![]),
                (false, false) => (cat.clone(), numeric.clone(), (0..cat.len()).collect()),
            };
        let mut z: Vec<Vec<f64>> = passthrough.iter().map(|&j| x[j].clone()).collect();
        let mut transformed = Vec::with_capacity(trans_ixs.len());
        for &j in &trans_ixs {
            let (t, out) = match config.transform {
                FeatureTransform::None => (ColumnTransform::Identity, x[j].clone()),
                FeatureTransform::QuantileUniformCoarse
                | FeatureTransform::QuantileUniform
                | FeatureTransform::QuantileUniformFine => {
                    let requested = config
                        .transform
                        .quantiles(rows)
                        .expect("a quantile transform");
                    let nq = requested.min(rows).clamp(1, 20_000);
                    let q = QuantileColumn::fit(&x[j], nq);
                    let out = match &q {
                        Some(q) => q.transform_column(&x[j]),
                        None => vec![f64::NAN; rows],
                    };
                    (ColumnTransform::Quantile(q), out)
                }
                FeatureTransform::SafePower => {
                    let (p, out) = SafePower::fit_transform(&x[j]);
                    (ColumnTransform::SafePower(p), out)
                }
            };
            transformed.push((j, t));
            z.push(out);
        }
        let svd = if let Some(k) = svd_components {
            let zf = z.len();
            let flat = row_major(&z, rows);
            let (svd, feats) = SvdFeatures::fit_transform(&flat, rows, zf, k)?;
            for c in 0..k {
                z.push((0..rows).map(|i| feats[i * k + c]).collect());
            }
            Some(svd)
        } else {
            None
        };

        // 3. Categorical encoding.
        let (categorical, new_cat) = match config.categorical {
            CategoricalTransform::Numeric | CategoricalTransform::None => {
                (CategoricalEncoding::Passthrough, cat_ix.clone())
            }
            CategoricalTransform::Ordinal { filter, shuffled } => {
                CategoricalEncoding::fit_ordinal(&z, rows, &cat_ix, seed, filter, shuffled)
            }
            CategoricalTransform::OneHot => CategoricalEncoding::fit_onehot(&z, rows, &cat_ix),
        };
        cat_ix = new_cat;
        let mut z = categorical.apply(z);

        // 4. Fingerprint.
        let salt = if steps.fingerprint {
            let salt = NumpyRng::new(seed).integers(0, 1 << 16) as u64;
            let h = fingerprint_train(&z, rows, salt);
            z.push(h);
            Some(salt)
        } else {
            None
        };

        // 5. Column order.
        let perm = match steps.order {
            FeatureOrder::Shuffle => NumpyRng::new(seed).permutation(z.len()),
            FeatureOrder::Rotate(shift) => rotation(z.len(), shift),
            FeatureOrder::Keep => (0..z.len()).collect(),
        };
        let cat_ix: Vec<usize> = perm
            .iter()
            .enumerate()
            .filter(|(_, old)| cat_ix.contains(old))
            .map(|(new, _)| new)
            .collect();
        let columns = perm.iter().map(|&p| z[p].clone()).collect();
        Ok((
            Self {
                polynomial,
                kept,
                subsampled,
                passthrough,
                transformed,
                svd,
                categorical,
                salt,
                perm,
                cat_ix,
            },
            MemberMatrix { columns, rows },
        ))
    }

    /// Transforms new rows (columns `x`, each `rows` long) like the train rows.
    pub fn transform(&self, x: &[Vec<f64>], rows: usize) -> MemberMatrix {
        let widened;
        let x = match &self.polynomial {
            Some(p) => {
                widened = p.transform(x);
                &widened[..]
            }
            None => x,
        };
        let x: Vec<&Vec<f64>> = self.kept.iter().map(|&j| &x[j]).collect();
        let x: Vec<&Vec<f64>> = match &self.subsampled {
            Some(idx) => idx.iter().map(|&j| x[j]).collect(),
            None => x,
        };
        let mut z: Vec<Vec<f64>> = self.passthrough.iter().map(|&j| x[j].clone()).collect();
        for (j, t) in &self.transformed {
            z.push(t.apply(x[*j]));
        }
        if let Some(svd) = &self.svd {
            let flat = row_major(&z, rows);
            let k = svd.k();
            let feats = svd.transform(&flat, rows);
            for c in 0..k {
                z.push((0..rows).map(|i| feats[i * k + c]).collect());
            }
        }
        let mut z = self.categorical.apply(z);
        if let Some(salt) = self.salt {
            let h = fingerprint_test(&z, rows, salt);
            z.push(h);
        }
        let columns = self.perm.iter().map(|&p| z[p].clone()).collect();
        MemberMatrix { columns, rows }
    }

    /// Categorical column indices of the member matrix (handed to the network, which
    /// ignores them in v2).
    pub fn categorical_indices(&self) -> &[usize] {
        &self.cat_ix
    }

    /// Position of the fingerprint column in the member matrix, if any.
    pub fn fingerprint_column(&self) -> Option<usize> {
        self.salt?;
        let last = self.perm.len() - 1;
        self.perm.iter().position(|&p| p == last)
    }

    /// Fingerprint salt drawn for this member.
    pub fn salt(&self) -> Option<u64> {
        self.salt
    }

    /// The column permutation of the last step.
    pub fn permutation(&self) -> &[usize] {
        &self.perm
    }
}

/// `append_original="auto"` appends below this many (member) features.
const APPEND_TO_ORIGINAL_THRESHOLD: usize = 500;

/// `subsample_features`: `rng.choice(range(f), int(frac × f) + 1, replace=k > f)` from the
/// member seed's generator.
fn subsample_features(frac: f64, f: usize, seed: u64) -> Vec<usize> {
    let k = (frac * f as f64) as usize + 1;
    let mut rng = NumpyRng::new(seed);
    if k > f {
        rng.integers_n(0, f as i64, k)
            .into_iter()
            .map(|v| v as usize)
            .collect()
    } else {
        rng.choice_without_replacement(f, k)
    }
}

/// `np.roll(np.arange(d), shift)`: output column `i` is column `(i - shift) mod d`.
fn rotation(d: usize, shift: i64) -> Vec<usize> {
    if d == 0 {
        return Vec::new();
    }
    let s = shift.rem_euclid(d as i64) as usize;
    (0..d).map(|i| (i + d - s) % d).collect()
}

fn row_major(columns: &[Vec<f64>], rows: usize) -> Vec<f64> {
    let f = columns.len();
    let mut flat = vec![0.0; rows * f];
    for (j, col) in columns.iter().enumerate() {
        for (i, &v) in col.iter().enumerate() {
            flat[i * f + j] = v;
        }
    }
    flat
}
