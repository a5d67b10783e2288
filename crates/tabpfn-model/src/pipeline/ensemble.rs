//! The ensemble recipe of 2.2.1 (`EnsembleConfig.generate_for_*`, `fit_preprocessing`):
//! member configs in blocks (A,A,A,A,B,B,B,B), class permutations, and the member seeds,
//! drawn from the main generator in the reference's order (pipeline.md §6.1).

use super::estimator::{ShiftMethod, TargetTransform};
use super::member::PreprocessorConfig;
use super::numpy_rng::NumpyRng;

/// `np.iinfo(np.int32).max`, the bound of the reference's integer seeds.
pub const MAX_INT_SEED: i64 = 2_147_483_647;

/// Everything random about an ensemble, as integers.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleDraws {
    /// One seed per member (D7).
    pub member_seeds: Vec<u64>,
    /// Classifier only: member `i` trains on labels `perm[y]`.
    pub class_permutations: Option<Vec<Vec<usize>>>,
    /// Feature shift counts (used by `FEATURE_SHIFT_METHOD="rotate"` only).
    pub feature_shifts: Vec<i64>,
}

/// `balance(items, n // len) + items[:n % len]`.
pub fn balanced<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    let per = n / items.len();
    let mut out: Vec<T> = items
        .iter()
        .flat_map(|it| std::iter::repeat_n(it.clone(), per))
        .collect();
    let leftover = n - out.len();
    out.extend(items[..leftover].iter().cloned());
    out
}

/// D1–D3: the discarded static seed, the feature-shift start and the shift counts.
fn feature_shift_draws(rng: &mut NumpyRng, n: usize) -> Vec<i64> {
    let _static_seed = rng.integers(0, MAX_INT_SEED);
    let start = rng.integers(0, 1000);
    rng.choice_without_replacement(n, n)
        .into_iter()
        .map(|i| start + i as i64)
        .collect()
}

/// Each member's training rows under `SUBSAMPLE_SAMPLES` (`k` of `n_train` per member):
/// a generator of its own, seeded with the static seed D1 (so the main generator's draws
/// are the same with and without subsampling), takes `permutation(n_train)[..k]` for each
/// member in turn. The rows stay in draw order, as the reference gathers them.
pub fn subsample_rows(random_state: u64, n: usize, n_train: usize, k: usize) -> Vec<Vec<usize>> {
    let static_seed = NumpyRng::new(random_state).integers(0, MAX_INT_SEED);
    let mut rng = NumpyRng::new(static_seed as u64);
    (0..n)
        .map(|_| {
            let mut p = rng.permutation(n_train);
            p.truncate(k);
            p
        })
        .collect()
}

/// D4–D5: class permutations, by `CLASS_SHIFT_METHOD`.
fn class_permutation_draws(
    rng: &mut NumpyRng,
    n: usize,
    n_classes: usize,
    method: ShiftMethod,
) -> Vec<Vec<usize>> {
    match method {
        ShiftMethod::Shuffle => class_shuffle_draws(rng, n, n_classes),
        ShiftMethod::Rotate => {
            // `np.roll(arange(c), s)` for `s` in a permutation of 0..c, then `n` picks
            let shifts = rng.permutation(n_classes);
            let picks = rng.integers_n(0, n_classes as i64, n);
            picks
                .into_iter()
                .map(|p| {
                    let s = shifts[p as usize];
                    (0..n_classes)
                        .map(|i| (i + n_classes - s) % n_classes)
                        .collect()
                })
                .collect()
        }
        ShiftMethod::Identity => vec![(0..n_classes).collect(); n],
    }
}

/// `CLASS_SHIFT_METHOD="shuffle"`: argsort of uniform noise, deduplicated, balanced.
fn class_shuffle_draws(rng: &mut NumpyRng, n: usize, n_classes: usize) -> Vec<Vec<usize>> {
    let mut perms: Vec<Vec<usize>> = (0..3 * n)
        .map(|_| {
            let noise: Vec<f64> = (0..n_classes).map(|_| rng.random()).collect();
            let mut idx: Vec<usize> = (0..n_classes).collect();
            idx.sort_by(|&a, &b| noise[a].partial_cmp(&noise[b]).expect("finite noise"));
            idx
        })
        .collect();
    perms.sort();
    perms.dedup();
    let per = n / perms.len();
    let mut out: Vec<Vec<usize>> = perms
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.clone(), per))
        .collect();
    let rest = n % perms.len();
    for _ in 0..rest {
        let i = rng.integers(0, perms.len() as i64) as usize;
        out.push(perms[i].clone());
    }
    out
}

/// D6–D7: the discarded integer and one seed per member.
fn member_seed_draws(rng: &mut NumpyRng, n: usize) -> Vec<u64> {
    let _discarded = rng.integers(0, MAX_INT_SEED);
    rng.integers_n(0, MAX_INT_SEED, n)
        .into_iter()
        .map(|s| s as u64)
        .collect()
}

/// Draws of a classifier fit with `random_state` (`fit_preprocessors` / `fit_with_cache`).
pub fn classifier_draws(
    random_state: u64,
    n: usize,
    n_classes: usize,
    class_shift: ShiftMethod,
) -> EnsembleDraws {
    let mut rng = NumpyRng::new(random_state);
    let feature_shifts = feature_shift_draws(&mut rng, n);
    let perms = class_permutation_draws(&mut rng, n, n_classes, class_shift);
    EnsembleDraws {
        member_seeds: member_seed_draws(&mut rng, n),
        class_permutations: Some(perms),
        feature_shifts,
    }
}

/// Draws of a regressor fit with `random_state`.
pub fn regressor_draws(random_state: u64, n: usize) -> EnsembleDraws {
    let mut rng = NumpyRng::new(random_state);
    let feature_shifts = feature_shift_draws(&mut rng, n);
    EnsembleDraws {
        member_seeds: member_seed_draws(&mut rng, n),
        class_permutations: None,
        feature_shifts,
    }
}

/// `low_memory` mode: after the config draws, one integer seeds a fresh generator from
/// which every predict call re-draws the member seeds (so they differ from the other modes).
pub fn low_memory_seeds(
    random_state: u64,
    n: usize,
    n_classes: Option<(usize, ShiftMethod)>,
) -> (Option<Vec<Vec<usize>>>, Vec<u64>) {
    let mut rng = NumpyRng::new(random_state);
    feature_shift_draws(&mut rng, n);
    let perms = n_classes.map(|(c, method)| class_permutation_draws(&mut rng, n, c, method));
    let t = rng.integers(0, MAX_INT_SEED) as u64;
    let mut h = NumpyRng::new(t);
    (perms, member_seed_draws(&mut h, n))
}

/// Each member's feature shift count (D2–D3), as `fit` draws them whatever the mode.
pub fn feature_shift_counts(random_state: u64, n: usize) -> Vec<i64> {
    feature_shift_draws(&mut NumpyRng::new(random_state), n)
}

/// The classifier's default `PREPROCESS_TRANSFORMS`: `[A, B]`.
pub const CLASSIFIER_CONFIGS: [PreprocessorConfig; 2] = [
    PreprocessorConfig::CLASSIFIER_A,
    PreprocessorConfig::CLASSIFIER_B,
];

/// The regressor's default `PREPROCESS_TRANSFORMS`: `[A′, B′]`.
pub const REGRESSOR_CONFIGS: [PreprocessorConfig; 2] = [
    PreprocessorConfig::REGRESSOR_A,
    PreprocessorConfig::REGRESSOR_B,
];

/// Member configs of the classifier: `configs` (default `[A, B]`) balanced.
pub fn classifier_configs(n: usize, configs: &[PreprocessorConfig]) -> Vec<PreprocessorConfig> {
    balanced(configs, n)
}

/// Member configs of the regressor: `product(configs, y_transforms)` balanced (default
/// `product([A′, B′], [none, safepower])`); the bool says whether the member's target goes
/// through the safepower transform.
pub fn regressor_configs(
    n: usize,
    configs: &[PreprocessorConfig],
    y_transforms: &[TargetTransform],
) -> Vec<(PreprocessorConfig, bool)> {
    let combos: Vec<(PreprocessorConfig, bool)> = configs
        .iter()
        .flat_map(|c| {
            y_transforms
                .iter()
                .map(move |t| (*c, *t == TargetTransform::SafePower))
        })
        .collect();
    balanced(&combos, n)
}
