//! More classes than the network has outputs: the output code of tabpfn-extensions'
//! `ManyClassClassifier` (0.2.0, the newest release that runs on tabpfn 2.2.1) with its
//! defaults (`codebook_config="legacy_rest"`, no row weighting, log-likelihood decoding
//! with the rest symbol masked).
//!
//! Each codebook row relabels the classes with an alphabet of `A` symbols (`A` = the
//! model's class limit): `A − 1` classes get a symbol of their own, every other class the
//! "rest" symbol `A − 1`. One full TabPFN ensemble is fitted per row; a class's score is
//! the mean log-probability of its symbol over the rows where it is not "rest".
//!
//! The draws are the extension's: a legacy `RandomState(random_state)` seeds 50 attempts,
//! each an own `RandomState`; the attempt whose classes are furthest apart (Hamming
//! distance: the minimum, then the mean) wins. Like the extension, each row's ensemble is
//! predicted on the training rows and the test rows together (their probabilities on the
//! training rows feed the extension's optional row weights; in the default mode they also
//! take part in the network's statistics), unless the fit is row independent.

use std::path::Path;
use std::sync::Arc;

use super::classifier::{FittedClassifier, Probabilities, TabPFNClassifier};
use super::estimator::EstimatorConfig;
use super::frame::{ClassLabel, Column, ColumnValues, DataFrame, Target};
use super::mt19937::RandomState;
use super::stats::pairwise_sum;
use crate::error::{input_err, Result};
use crate::transformer::PerFeatureTransformer;

/// `EPS_PROBA`: probabilities are clipped to `[1e-12, 1]` before the log.
const EPS_PROBA: f64 = 1e-12;

/// The knobs of `ManyClassClassifier`, by its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManyClassConfig {
    /// `alphabet_size`: symbols per codebook row (`None`: the model's class limit, 10).
    pub alphabet_size: Option<usize>,
    /// `n_estimators`: codebook rows (`None`: from the class count, see [`codebook_rows`]).
    pub n_estimators: Option<usize>,
    /// `n_estimators_redundancy`: how many times the minimal row count to use.
    pub n_estimators_redundancy: usize,
    /// `codebook_config.retries`: codebooks drawn, the best kept.
    pub retries: usize,
}

impl Default for ManyClassConfig {
    fn default() -> Self {
        Self {
            alphabet_size: None,
            n_estimators: None,
            n_estimators_redundancy: 4,
            retries: 50,
        }
    }
}

/// The most codebook rows a configuration may ask for: each is a whole ensemble fit.
pub const MAX_CODEBOOK_ROWS: usize = 1000;

/// `_get_n_estimators`: at least enough rows to cover every class once and to tell all
/// classes apart (`⌈log_A C⌉`), times the redundancy, capped at `4 · ⌈log_A C⌉`.
pub fn codebook_rows(n_classes: usize, alphabet: usize, cfg: &ManyClassConfig) -> usize {
    if let Some(n) = cfg.n_estimators {
        return n;
    }
    if alphabet <= 1 {
        return n_classes.max(1);
    }
    let log_cover = ((n_classes.max(2) as f64).ln() / (alphabet as f64).ln()).ceil() as usize;
    let cover = n_classes.div_ceil((alphabet - 1).max(1));
    let base = log_cover.max(cover);
    let candidate = base * cfg.n_estimators_redundancy.max(1);
    let cap = base.max(4 * log_cover.max(1));
    base.max(candidate.min(cap))
}

/// One `_single_attempt` of the legacy-rest codebook (`[rows][classes]`), or `None` when a
/// class is left uncovered.
fn single_attempt(
    n_classes: usize,
    rows: usize,
    alphabet: usize,
    rng: &mut RandomState,
) -> Option<Vec<Vec<usize>>> {
    let rest = alphabet - 1;
    let assignable = (alphabet - 1).min(n_classes);
    let mut book = vec![vec![rest; n_classes]; rows];
    let mut coverage = vec![0usize; n_classes];
    for row in book.iter_mut() {
        let noisy: Vec<f64> = coverage
            .iter()
            .map(|&c| c as f64 + rng.uniform(0.0, 0.1))
            .collect();
        let mut order: Vec<usize> = (0..n_classes).collect();
        order.sort_by(|&a, &b| noisy[a].total_cmp(&noisy[b]));
        let codes = rng.permutation(alphabet - 1);
        for (&class, &code) in order[..assignable].iter().zip(&codes[..assignable]) {
            row[class] = code;
            coverage[class] += 1;
        }
    }
    coverage.iter().all(|&c| c > 0).then_some(book)
}

/// `summarize_codebook`'s separability: the minimum (rounded) and mean pairwise Hamming
/// distance between the classes' code words, as scipy's `pdist(…, "hamming") × rows`.
fn separability(book: &[Vec<usize>], n_classes: usize) -> Option<(f64, f64)> {
    let rows = book.len();
    if !(2..=200).contains(&n_classes) {
        return None;
    }
    let mut d = Vec::with_capacity(n_classes * (n_classes - 1) / 2);
    for i in 0..n_classes {
        for j in i + 1..n_classes {
            let differ = book.iter().filter(|r| r[i] != r[j]).count();
            d.push(differ as f64 / rows as f64 * rows as f64);
        }
    }
    let min = d
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .round_ties_even();
    let mean = pairwise_sum(&d) / d.len() as f64;
    Some((min, mean))
}

/// `LegacyRestCodebookStrategy.generate`: `[rows][classes]` symbols in `0..alphabet`.
pub fn legacy_rest_codebook(
    n_classes: usize,
    rows: usize,
    alphabet: usize,
    random_state: u32,
    retries: usize,
) -> Result<Vec<Vec<usize>>> {
    if alphabet < 2 {
        return Err(input_err("alphabet_size", "must be at least 2"));
    }
    let mut rng = RandomState::new(random_state);
    let mut best: Option<(Vec<Vec<usize>>, f64, f64)> = None;
    for _ in 0..retries.max(1) {
        let seed = rng.randint(0, (1 << 31) - 1) as u32;
        let Some(book) = single_attempt(n_classes, rows, alphabet, &mut RandomState::new(seed))
        else {
            continue;
        };
        let (min, mean) =
            separability(&book, n_classes).unwrap_or((f64::NEG_INFINITY, f64::NEG_INFINITY));
        let better = match &best {
            None => true,
            Some((_, bmin, bmean)) => min > *bmin || (min == *bmin && mean > *bmean),
        };
        if better {
            best = Some((book, min, mean));
        }
    }
    best.map(|(b, _, _)| b).ok_or_else(|| {
        input_err(
            "y",
            format!(
                "no codebook of {rows} rows covers all {n_classes} classes with {alphabet} \
                 symbols; raise n_estimators"
            ),
        )
    })
}

/// `LogLikelihoodAggregator` with the rest symbol masked: `p_rows[r]` is row `r`'s
/// `[test rows × alphabet]` probabilities; returns `[test rows × classes]`.
pub fn decode(
    p_rows: &[Vec<f64>],
    book: &[Vec<usize>],
    alphabet: usize,
    n_test: usize,
) -> Vec<f64> {
    let n_classes = book.first().map_or(0, Vec::len);
    let rest = alphabet - 1;
    let mut out = vec![0.0f64; n_test * n_classes];
    let effective: Vec<f64> = (0..n_classes)
        .map(|c| book.iter().filter(|r| r[c] != rest).count() as f64)
        .collect();
    for t in 0..n_test {
        let row = &mut out[t * n_classes..(t + 1) * n_classes];
        for (c, v) in row.iter_mut().enumerate() {
            let mut sum = 0.0f64;
            for (r, codes) in book.iter().enumerate() {
                let code = codes[c];
                let term = if code != rest {
                    p_rows[r][t * alphabet + code].clamp(EPS_PROBA, 1.0).ln()
                } else {
                    0.0
                };
                sum += term;
            }
            *v = if effective[c] <= 1e-6 {
                f64::NEG_INFINITY
            } else {
                sum / effective[c]
            };
        }
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        row.iter_mut().for_each(|v| *v = (*v - max).exp());
        let denom = pairwise_sum(row).max(1.0);
        row.iter_mut().for_each(|v| *v /= denom);
    }
    out
}

/// A fitted many-class classifier: the codebook and one fitted ensemble per row.
#[derive(Debug, Clone)]
pub struct FittedManyClass {
    pub(super) classes: Vec<ClassLabel>,
    pub(super) alphabet: usize,
    pub(super) book: Vec<Vec<usize>>,
    pub(super) rows: Vec<FittedClassifier>,
    /// The training table, predicted with the test rows unless the fit is row independent.
    pub(super) x_train: Option<DataFrame>,
}

/// Fits the output code for a table with more classes than `model` has outputs (or than
/// `cfg.max_classes`); `many.alphabet_size` defaults to that limit. The codebook draws use
/// `cfg.random_state` (which must be below 2³², as a legacy `RandomState` seed); every
/// row's ensemble uses `cfg` unchanged, as the extension clones one base estimator.
pub fn fit_many_class(
    model: Arc<PerFeatureTransformer>,
    cfg: &EstimatorConfig,
    many: &ManyClassConfig,
    x: &DataFrame,
    y: &Target,
) -> Result<FittedManyClass> {
    let limit = cfg.max_classes.min(model.config().n_out());
    let alphabet = many.alphabet_size.unwrap_or(limit);
    if !(2..=limit).contains(&alphabet) {
        return Err(input_err(
            "alphabet_size",
            format!(
                "must be between 2 and the class limit {limit} (MAX_NUMBER_OF_CLASSES, at \
                 most the model's outputs), got {alphabet}"
            ),
        ));
    }
    let seed = u32::try_from(cfg.random_state).map_err(|_| {
        input_err(
            "random_state",
            format!(
                "{} is too large for the many-class codebook (a legacy numpy seed, < 2³²)",
                cfg.random_state
            ),
        )
    })?;
    let (classes, y_idx) = super::classifier::encode_labels(y)?;
    let n_classes = classes.len();
    let n_rows = codebook_rows(n_classes, alphabet, many);
    if n_rows == 0 || n_rows > MAX_CODEBOOK_ROWS {
        return Err(input_err(
            "n_estimators (many-class codebook rows)",
            format!("must be between 1 and {MAX_CODEBOOK_ROWS}, got {n_rows}"),
        ));
    }
    let book = legacy_rest_codebook(n_classes, n_rows, alphabet, seed, many.retries)?;
    let base = TabPFNClassifier::new(model, cfg.clone())?;
    let rows = book
        .iter()
        .map(|codes| {
            let y_row = Target::Numeric(y_idx.iter().map(|&c| codes[c] as f64).collect());
            base.fit(x, &y_row)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(FittedManyClass {
        classes,
        alphabet,
        book,
        rows,
        x_train: (!cfg.row_independent).then(|| x.clone()),
    })
}

impl FittedManyClass {
    /// The first codebook row's ensemble: feature names, knobs and the network are the
    /// same in every row.
    pub fn ensemble(&self) -> &super::FittedEnsemble {
        self.rows[0].ensemble()
    }

    pub(crate) fn set_target_name(&mut self, name: Option<String>) {
        for r in &mut self.rows {
            if let Some(n) = &name {
                r.set_target_name(n.clone());
            }
        }
    }

    /// Saves the fit (the codebook, every row's saved classifier fit and the training
    /// table) to one safetensors file, atomically; [`FittedEstimator::load`] reads it.
    ///
    /// [`FittedEstimator::load`]: super::FittedEstimator::load
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = super::persist_many_class::to_bytes(path, self)?;
        Ok(tabpfn_weights::files::write_atomic(path, &bytes)?)
    }

    /// The saved-fit file as bytes (what [`save`](Self::save) writes), e.g. for pickling.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        super::persist_many_class::to_bytes(Path::new("<bytes>"), self)
    }

    /// Codebook rows (each a full ensemble fit).
    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }

    /// Class labels in probability-column order (sorted).
    pub fn classes(&self) -> &[ClassLabel] {
        &self.classes
    }

    /// The codebook, `[rows][classes]`, symbols in `0..alphabet_size`.
    pub fn codebook(&self) -> &[Vec<usize>] {
        &self.book
    }

    /// Class probabilities `[rows, classes]`.
    pub fn predict_proba(&self, x: &DataFrame) -> Result<Probabilities> {
        self.predict_proba_with_progress(x, |_| {})
    }

    /// [`Self::predict_proba`], calling `progress(rows)` after each member of each row.
    pub fn predict_proba_with_progress(
        &self,
        x: &DataFrame,
        mut progress: impl FnMut(usize),
    ) -> Result<Probabilities> {
        let n_test = x.rows();
        let (input, offset) = match &self.x_train {
            Some(train) => (concat_rows(train, x)?, train.rows()),
            None => (x.clone(), 0),
        };
        let mut p_rows = Vec::with_capacity(self.rows.len());
        for fit in &self.rows {
            p_rows.push({
                let p = fit.predict_proba_with_progress(&input, &mut progress)?;
                // the row's classes are the symbols its labels use, sorted
                let mut full = vec![0.0f64; n_test * self.alphabet];
                for (k, label) in fit.classes().iter().enumerate() {
                    let ClassLabel::Numeric(code) = label else {
                        unreachable!("codebook labels are numeric")
                    };
                    let code = *code as usize;
                    for t in 0..n_test {
                        full[t * self.alphabet + code] = p.row(offset + t)[k] as f64;
                    }
                }
                full
            });
        }
        let data = decode(&p_rows, &self.book, self.alphabet, n_test);
        Ok(Probabilities {
            rows: n_test,
            classes: self.classes.len(),
            data: data.into_iter().map(|v| v as f32).collect(),
        })
    }

    /// The most probable class of each row.
    pub fn predict(&self, x: &DataFrame) -> Result<Vec<ClassLabel>> {
        Ok(self.labels_of(&self.predict_proba(x)?))
    }

    /// The most probable class of each row of `p` (the first on ties, as `np.argmax`).
    pub fn labels_of(&self, p: &Probabilities) -> Vec<ClassLabel> {
        super::classifier::argmax_labels(p, &self.classes)
    }
}

/// The rows of `a` followed by those of `b` (same columns, checked by the fit's encoder).
fn concat_rows(a: &DataFrame, b: &DataFrame) -> Result<DataFrame> {
    if a.n_columns() != b.n_columns() {
        return Err(input_err(
            "X",
            format!(
                "has {} columns, but the estimator was fitted on {}",
                b.n_columns(),
                a.n_columns()
            ),
        ));
    }
    let cols = a
        .columns()
        .iter()
        .zip(b.columns())
        .map(|(ca, cb)| {
            let values = match (&ca.values, &cb.values) {
                (ColumnValues::Numeric(u), ColumnValues::Numeric(v)) => {
                    ColumnValues::Numeric([u.as_slice(), v].concat())
                }
                (ColumnValues::Text(u), ColumnValues::Text(v)) => {
                    ColumnValues::Text([u.as_slice(), v].concat())
                }
                _ => {
                    return Err(input_err(
                        &format!("column `{}`", cb.name),
                        "is numeric in one table and text in the other",
                    ))
                }
            };
            Ok(Column {
                name: cb.name.clone(),
                values,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    DataFrame::new(cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_counts_follow_the_extension() {
        let d = ManyClassConfig::default();
        // 30 classes, 10 symbols: cover 4, log 2 → base 4, 16 candidates, cap 8
        assert_eq!(codebook_rows(30, 10, &d), 8);
        assert_eq!(codebook_rows(11, 10, &d), 8);
        assert_eq!(codebook_rows(100, 10, &d), 12);
    }

    #[test]
    fn codebooks_cover_every_class_and_decode_to_probabilities() {
        let book = legacy_rest_codebook(23, 8, 10, 0, 50).unwrap();
        assert_eq!(book.len(), 8);
        for c in 0..23 {
            assert!(book.iter().any(|r| r[c] != 9), "class {c} uncovered");
        }
        for r in &book {
            let mut own: Vec<usize> = r.iter().copied().filter(|&s| s != 9).collect();
            own.sort_unstable();
            assert_eq!(own, (0..9).collect::<Vec<_>>(), "each symbol once per row");
        }
        let p_rows: Vec<Vec<f64>> = (0..8).map(|_| vec![0.1; 2 * 10]).collect();
        let p = decode(&p_rows, &book, 10, 2);
        for t in 0..2 {
            let s: f64 = p[t * 23..(t + 1) * 23].iter().sum();
            assert!((s - 1.0).abs() < 1e-12, "{s}");
        }
    }
}
