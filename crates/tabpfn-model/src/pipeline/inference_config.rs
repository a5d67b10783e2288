//! `inference_config` of tabpfn 2.2.1 (`ModelInterfaceConfig`, `tabpfn/config.py`): every
//! key, its default, and how it maps onto [`EstimatorConfig`]. The one table of these keys
//! for every front end: the CLI's `--inference-config KEY=VALUE` / JSON file and the Python
//! package's `inference_config=` dict both come here.
//!
//! Values are JSON (`serde_json::Value`): Python's `None` is `null`, its tuples are arrays.
//! A key the reference does not have, a value of the wrong type or range, and a value the
//! reference accepts but this port does not implement are errors naming the key.

use serde_json::Value;

use super::estimator::{
    EstimatorConfig, OutlierRemoval, ShiftMethod, SubsampleSamples, TargetTransform,
};
use super::member::{AppendOriginal, CategoricalTransform, FeatureTransform, PreprocessorConfig};
use super::polynomial::PolynomialFeatures;
use crate::config::Task;
use crate::error::{input_err, Result};

/// Every key of 2.2.1's `ModelInterfaceConfig`, with its default as Python writes it.
pub const KEYS: [(&str, &str); 18] = [
    ("MAX_UNIQUE_FOR_CATEGORICAL_FEATURES", "30"),
    ("MIN_UNIQUE_FOR_NUMERICAL_FEATURES", "4"),
    ("MIN_NUMBER_SAMPLES_FOR_CATEGORICAL_INFERENCE", "100"),
    ("OUTLIER_REMOVAL_STD", "\"auto\""),
    ("FEATURE_SHIFT_METHOD", "\"shuffle\""),
    ("CLASS_SHIFT_METHOD", "\"shuffle\""),
    ("FINGERPRINT_FEATURE", "True"),
    ("POLYNOMIAL_FEATURES", "\"no\""),
    ("SUBSAMPLE_SAMPLES", "None"),
    ("PREPROCESS_TRANSFORMS", "None"),
    (
        "REGRESSION_Y_PREPROCESS_TRANSFORMS",
        "(None, \"safepower\")",
    ),
    ("USE_SKLEARN_16_DECIMAL_PRECISION", "False"),
    ("MAX_NUMBER_OF_CLASSES", "10"),
    ("MAX_NUMBER_OF_FEATURES", "500"),
    ("MAX_NUMBER_OF_SAMPLES", "10000"),
    ("FIX_NAN_BORDERS_AFTER_TARGET_TRANSFORM", "True"),
    ("_REGRESSION_DEFAULT_OUTLIER_REMOVAL_STD", "None"),
    ("_CLASSIFICATION_DEFAULT_OUTLIER_REMOVAL_STD", "12.0"),
];

/// A parsed `inference_config`: `(key, value)` pairs in the order given, each key once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferenceConfig {
    entries: Vec<(String, Value)>,
}

impl InferenceConfig {
    /// From a JSON object (`{"FINGERPRINT_FEATURE": false, …}`).
    pub fn from_json(v: &Value) -> Result<Self> {
        let obj = v.as_object().ok_or_else(|| {
            input_err(
                "inference_config",
                format!("must be a JSON object of KEY: value pairs, got {}", kind(v)),
            )
        })?;
        let mut out = Self::default();
        for (k, v) in obj {
            out.set(k, v.clone())?;
        }
        Ok(out)
    }

    /// From `KEY=VALUE` strings: the value is read as JSON where it parses as JSON
    /// (`12.5`, `false`, `null`, `["x"]`), Python's `None`/`True`/`False` are accepted,
    /// and anything else is a string (`FEATURE_SHIFT_METHOD=rotate`).
    pub fn from_assignments<S: AsRef<str>>(items: &[S]) -> Result<Self> {
        let mut out = Self::default();
        for item in items {
            let item = item.as_ref();
            let (k, v) = item.split_once('=').ok_or_else(|| {
                input_err(
                    "inference_config",
                    format!("`{item}` is not KEY=VALUE (e.g. FINGERPRINT_FEATURE=false)"),
                )
            })?;
            out.set(k.trim(), parse_value(v.trim()))?;
        }
        Ok(out)
    }

    /// Adds one key; unknown and repeated keys are errors.
    pub fn set(&mut self, key: &str, value: Value) -> Result<()> {
        if !KEYS.iter().any(|(k, _)| *k == key) {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            return Err(input_err(
                "inference_config",
                format!(
                    "unknown key `{key}` (not a field of tabpfn 2.2.1's ModelInterfaceConfig); \
                     the keys are: {}",
                    known.join(", ")
                ),
            ));
        }
        if self.entries.iter().any(|(k, _)| k == key) {
            return Err(input_err(
                "inference_config",
                format!("`{key}` is given twice"),
            ));
        }
        self.entries.push((key.to_string(), value));
        Ok(())
    }

    /// Merges `other` in (its keys must be new).
    pub fn extend(&mut self, other: InferenceConfig) -> Result<()> {
        for (k, v) in other.entries {
            self.set(&k, v)?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys given, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Sets the fields of `cfg` these keys stand for, for an estimator of `task` (the
    /// `"auto"` outlier removal and the task-only keys depend on it), then validates `cfg`.
    pub fn apply(&self, cfg: &mut EstimatorConfig, task: Task) -> Result<()> {
        let mut outlier: Option<Value> = None;
        let mut auto_clf: Option<Value> = None;
        let mut auto_reg: Option<Value> = None;
        for (key, v) in &self.entries {
            let key = key.as_str();
            match key {
                "MAX_UNIQUE_FOR_CATEGORICAL_FEATURES" => {
                    cfg.categorical_inference.max_unique_for_category = count(key, v, 0)?
                }
                "MIN_UNIQUE_FOR_NUMERICAL_FEATURES" => {
                    cfg.categorical_inference.min_unique_for_numerical = count(key, v, 0)?
                }
                "MIN_NUMBER_SAMPLES_FOR_CATEGORICAL_INFERENCE" => {
                    cfg.categorical_inference.min_samples_for_inference = count(key, v, 0)?
                }
                "OUTLIER_REMOVAL_STD" => outlier = Some(v.clone()),
                "_CLASSIFICATION_DEFAULT_OUTLIER_REMOVAL_STD" => auto_clf = Some(v.clone()),
                "_REGRESSION_DEFAULT_OUTLIER_REMOVAL_STD" => auto_reg = Some(v.clone()),
                "FEATURE_SHIFT_METHOD" => cfg.feature_shift = shift(key, v)?,
                "CLASS_SHIFT_METHOD" => cfg.class_shift = shift(key, v)?,
                "FINGERPRINT_FEATURE" => cfg.fingerprint_feature = boolean(key, v)?,
                "POLYNOMIAL_FEATURES" => cfg.polynomial_features = polynomial(key, v)?,
                "SUBSAMPLE_SAMPLES" => cfg.subsample_samples = subsample(key, v)?,
                "PREPROCESS_TRANSFORMS" => {
                    cfg.preprocess_transforms = match v {
                        Value::Null => None,
                        Value::Array(items) => Some(
                            items
                                .iter()
                                .enumerate()
                                .map(|(i, c)| preprocessor(key, i, c))
                                .collect::<Result<_>>()?,
                        ),
                        other => {
                            return Err(input_err(
                                key,
                                format!(
                                    "must be None or a list of preprocessor configs, got {}",
                                    kind(other)
                                ),
                            ))
                        }
                    }
                }
                "REGRESSION_Y_PREPROCESS_TRANSFORMS" => {
                    cfg.regression_y_transforms = y_transforms(key, v)?
                }
                "USE_SKLEARN_16_DECIMAL_PRECISION" => {
                    cfg.sklearn_16_decimal_precision = boolean(key, v)?
                }
                "MAX_NUMBER_OF_CLASSES" => cfg.max_classes = count(key, v, 1)?,
                "MAX_NUMBER_OF_FEATURES" => cfg.max_features = count(key, v, 1)?,
                "MAX_NUMBER_OF_SAMPLES" => cfg.max_samples = count(key, v, 1)?,
                "FIX_NAN_BORDERS_AFTER_TARGET_TRANSFORM" => cfg.fix_nan_borders = boolean(key, v)?,
                _ => unreachable!("`set` admits only KEYS"),
            }
        }
        // "auto" means the task's default, which the underscore keys may change
        // (their built-in values, 12.0 and None, are what `OutlierRemoval::Auto` means)
        let auto = match task {
            Task::Classification => auto_clf.filter(|v| v.as_f64() != Some(12.0)),
            Task::Regression => auto_reg.filter(|v| !v.is_null()),
        };
        let outlier = match outlier {
            Some(Value::String(s)) if s == "auto" => auto,
            Some(v) => Some(v),
            None => auto,
        };
        if let Some(v) = outlier {
            cfg.outlier_removal = match v {
                Value::Null => OutlierRemoval::Off,
                Value::Number(n) => OutlierRemoval::Std(n.as_f64().unwrap_or(f64::NAN) as f32),
                other => {
                    return Err(input_err(
                        "OUTLIER_REMOVAL_STD",
                        format!(
                            "must be \"auto\", None or a number of standard deviations, got {}",
                            kind(&other)
                        ),
                    ))
                }
            };
        }
        cfg.validate()
    }
}

fn parse_value(s: &str) -> Value {
    match s {
        "None" | "none" => Value::Null,
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        _ => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string())),
    }
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a dict".into(),
    }
}

fn boolean(key: &str, v: &Value) -> Result<bool> {
    v.as_bool()
        .ok_or_else(|| input_err(key, format!("must be True or False, got {}", kind(v))))
}

fn count(key: &str, v: &Value, min: u64) -> Result<usize> {
    match v.as_u64() {
        Some(n) if n >= min => usize::try_from(n)
            .map_err(|_| input_err(key, format!("{n} does not fit this machine's integers"))),
        _ => Err(input_err(
            key,
            format!("must be an integer ≥ {min}, got {}", kind(v)),
        )),
    }
}

fn shift(key: &str, v: &Value) -> Result<ShiftMethod> {
    match v {
        Value::String(s) if s == "shuffle" => Ok(ShiftMethod::Shuffle),
        Value::String(s) if s == "rotate" => Ok(ShiftMethod::Rotate),
        Value::Null => Ok(ShiftMethod::Identity),
        other => Err(input_err(
            key,
            format!(
                "must be \"shuffle\", \"rotate\" or None, got {}",
                kind(other)
            ),
        )),
    }
}

/// The most products `POLYNOMIAL_FEATURES` may ask for (each is a member column).
const MAX_POLYNOMIAL_FEATURES: u64 = super::polynomial::MAX_PRODUCTS as u64;

fn polynomial(key: &str, v: &Value) -> Result<PolynomialFeatures> {
    match v {
        Value::String(s) if s == "no" => Ok(PolynomialFeatures::No),
        Value::String(s) if s == "all" => Ok(PolynomialFeatures::All),
        Value::Number(n)
            if n.as_u64()
                .is_some_and(|n| (1..=MAX_POLYNOMIAL_FEATURES).contains(&n)) =>
        {
            Ok(PolynomialFeatures::Max(
                n.as_u64().expect("checked") as usize
            ))
        }
        Value::Number(n) if n.as_u64().is_some() => Err(input_err(
            key,
            format!("at most {MAX_POLYNOMIAL_FEATURES} products, got {n}"),
        )),
        other => Err(input_err(
            key,
            format!(
                "must be \"no\", \"all\" or a positive integer, got {}",
                kind(other)
            ),
        )),
    }
}

fn unsupported(key: &str, v: &Value) -> crate::error::ModelError {
    input_err(
        key,
        format!(
            "{} is valid in tabpfn 2.2.1 but not implemented in tabpfn-rs (only the default \
             is; docs/pipeline.md lists what is)",
            kind(v)
        ),
    )
}

fn subsample(key: &str, v: &Value) -> Result<Option<SubsampleSamples>> {
    let s = match v {
        Value::Null => return Ok(None),
        Value::Number(n) if n.is_u64() || n.is_i64() => match n.as_u64() {
            Some(k) if k >= 1 => SubsampleSamples::Count(k as usize),
            _ => {
                return Err(input_err(
                    key,
                    format!("a row count must be at least 1, got {n}"),
                ))
            }
        },
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if !(f > 0.0 && f < 1.0) {
                return Err(input_err(
                    key,
                    format!("a fraction of the rows must lie strictly between 0 and 1, got {f}"),
                ));
            }
            SubsampleSamples::Fraction(f)
        }
        other => {
            return Err(input_err(
                key,
                format!(
                    "must be None, a row count ≥ 1 or a fraction in (0, 1), got {}",
                    kind(other)
                ),
            ))
        }
    };
    Ok(Some(s))
}

fn y_transforms(key: &str, v: &Value) -> Result<Vec<TargetTransform>> {
    let items = v.as_array().ok_or_else(|| {
        input_err(
            key,
            format!(
                "must be a list such as [None, \"safepower\"], got {}",
                kind(v)
            ),
        )
    })?;
    items
        .iter()
        .map(|t| match t {
            Value::Null => Ok(TargetTransform::None),
            Value::String(s) if s == "safepower" => Ok(TargetTransform::SafePower),
            Value::String(s) if s == "power" || s == "quantile_norm" => Err(unsupported(key, t)),
            other => Err(input_err(
                key,
                format!(
                    "entries must be None, \"safepower\", \"power\" or \"quantile_norm\", got {}",
                    kind(other)
                ),
            )),
        })
        .collect()
}

/// One `PreprocessorConfig` as a dict (`PreprocessorConfig.from_dict`'s keys); absent keys
/// take the dataclass defaults.
fn preprocessor(key: &str, i: usize, v: &Value) -> Result<PreprocessorConfig> {
    let here = |msg: String| input_err(key, format!("entry {i}: {msg}"));
    let obj = v.as_object().ok_or_else(|| {
        here(format!(
            "must be a dict with `name`, `categorical_name`, `append_original`, \
             `subsample_features`, `global_transformer_name`; got {}",
            kind(v)
        ))
    })?;
    const FIELDS: [&str; 6] = [
        "name",
        "categorical_name",
        "append_original",
        "subsample_features",
        "global_transformer_name",
        "differentiable",
    ];
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(here(format!(
            "unknown field `{k}` (the fields are {})",
            FIELDS.join(", ")
        )));
    }
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| here("needs a `name` (e.g. \"quantile_uni_coarse\")".into()))?;
    let transform = FeatureTransform::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let known: Vec<&str> = FeatureTransform::ALL.iter().map(|(n, _)| *n).collect();
            here(format!(
                "transform `{name}` is not implemented in tabpfn-rs (implemented: {})",
                known.join(", ")
            ))
        })?;
    let categorical = match obj.get("categorical_name") {
        None => CategoricalTransform::None,
        Some(Value::String(c)) => CategoricalTransform::ALL
            .iter()
            .find(|(n, _)| n == c)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                let known: Vec<&str> = CategoricalTransform::ALL.iter().map(|(n, _)| *n).collect();
                here(format!(
                    "unknown categorical_name `{c}` (one of {})",
                    known.join(", ")
                ))
            })?,
        Some(other) => {
            return Err(here(format!(
                "categorical_name must be a string, got {}",
                kind(other)
            )))
        }
    };
    let append_original = match obj.get("append_original") {
        None | Some(Value::Bool(false)) => AppendOriginal::Never,
        Some(Value::Bool(true)) => AppendOriginal::Always,
        Some(Value::String(s)) if s == "auto" => AppendOriginal::Auto,
        Some(other) => {
            return Err(here(format!(
                "append_original must be True, False or \"auto\", got {}",
                kind(other)
            )))
        }
    };
    let subsample_features = match obj.get("subsample_features") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.is_nan() {
                return Err(here("subsample_features is not a number".into()));
            }
            // the reference subsamples iff > 0 (-1 is its "all features")
            (f > 0.0).then_some(f)
        }
        Some(other) => {
            return Err(here(format!(
                "subsample_features must be a number (-1: all features), got {}",
                kind(other)
            )))
        }
    };
    let svd = match obj.get("global_transformer_name") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == "None" => false,
        Some(Value::String(s)) if s == "svd" => true,
        Some(Value::String(s)) if s == "scaler" => {
            return Err(here(
                "global_transformer_name \"scaler\" is not implemented in tabpfn-rs (only \"svd\" and None are)".into(),
            ))
        }
        Some(other) => {
            return Err(here(format!(
                "global_transformer_name must be \"svd\", \"scaler\" or None, got {}",
                kind(other)
            )))
        }
    };
    match obj.get("differentiable") {
        None | Some(Value::Bool(false)) => {}
        Some(other) => {
            return Err(here(format!(
                "differentiable must be False in tabpfn-rs (prompt tuning is not ported), got {}",
                kind(other)
            )))
        }
    }
    Ok(PreprocessorConfig {
        transform,
        append_original,
        categorical,
        svd,
        subsample_features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn applied(v: Value, task: Task) -> Result<EstimatorConfig> {
        let mut c = EstimatorConfig::default();
        InferenceConfig::from_json(&v)?.apply(&mut c, task)?;
        Ok(c)
    }

    #[test]
    fn defaults_written_out_change_nothing() {
        let v = json!({
            "MAX_UNIQUE_FOR_CATEGORICAL_FEATURES": 30,
            "MIN_UNIQUE_FOR_NUMERICAL_FEATURES": 4,
            "MIN_NUMBER_SAMPLES_FOR_CATEGORICAL_INFERENCE": 100,
            "OUTLIER_REMOVAL_STD": "auto",
            "FEATURE_SHIFT_METHOD": "shuffle",
            "CLASS_SHIFT_METHOD": "shuffle",
            "FINGERPRINT_FEATURE": true,
            "POLYNOMIAL_FEATURES": "no",
            "SUBSAMPLE_SAMPLES": null,
            "PREPROCESS_TRANSFORMS": null,
            "REGRESSION_Y_PREPROCESS_TRANSFORMS": [null, "safepower"],
            "USE_SKLEARN_16_DECIMAL_PRECISION": false,
            "MAX_NUMBER_OF_CLASSES": 10,
            "MAX_NUMBER_OF_FEATURES": 500,
            "MAX_NUMBER_OF_SAMPLES": 10000,
            "FIX_NAN_BORDERS_AFTER_TARGET_TRANSFORM": true,
            "_REGRESSION_DEFAULT_OUTLIER_REMOVAL_STD": null,
            "_CLASSIFICATION_DEFAULT_OUTLIER_REMOVAL_STD": 12.0,
        });
        for task in [Task::Classification, Task::Regression] {
            assert_eq!(
                applied(v.clone(), task).unwrap(),
                EstimatorConfig::default()
            );
        }
        assert_eq!(v.as_object().unwrap().len(), KEYS.len());
    }

    #[test]
    fn every_knob_reaches_its_field() {
        let c = applied(
            json!({
                "FEATURE_SHIFT_METHOD": "rotate",
                "CLASS_SHIFT_METHOD": null,
                "OUTLIER_REMOVAL_STD": 3.5,
                "MAX_NUMBER_OF_CLASSES": 4,
                "REGRESSION_Y_PREPROCESS_TRANSFORMS": ["safepower"],
                "PREPROCESS_TRANSFORMS": [{"name": "quantile_uni_fine",
                    "categorical_name": "ordinal_shuffled", "append_original": true,
                    "subsample_features": 0.5, "global_transformer_name": "svd"}],
            }),
            Task::Classification,
        )
        .unwrap();
        assert_eq!(c.feature_shift, ShiftMethod::Rotate);
        assert_eq!(c.class_shift, ShiftMethod::Identity);
        assert_eq!(c.outlier_removal, OutlierRemoval::Std(3.5));
        assert_eq!(c.max_classes, 4);
        assert_eq!(c.regression_y_transforms, vec![TargetTransform::SafePower]);
        let p = c.preprocess_transforms.unwrap()[0];
        assert_eq!(p.transform, FeatureTransform::QuantileUniformFine);
        assert_eq!(p.append_original, AppendOriginal::Always);
        assert_eq!(p.subsample_features, Some(0.5));
        assert!(p.svd);
    }

    #[test]
    fn auto_outlier_removal_follows_the_task_default_keys() {
        let v = json!({"_CLASSIFICATION_DEFAULT_OUTLIER_REMOVAL_STD": 6.0});
        assert_eq!(
            applied(v.clone(), Task::Classification)
                .unwrap()
                .outlier_removal,
            OutlierRemoval::Std(6.0)
        );
        assert_eq!(
            applied(v, Task::Regression).unwrap().outlier_removal,
            OutlierRemoval::Auto
        );
        let off = json!({"OUTLIER_REMOVAL_STD": null});
        assert_eq!(
            applied(off, Task::Classification).unwrap().outlier_removal,
            OutlierRemoval::Off
        );
    }

    #[test]
    fn bad_keys_and_values_name_the_key() {
        for (v, needle) in [
            (json!({"FINGERPRINT": true}), "unknown key `FINGERPRINT`"),
            (json!({"FINGERPRINT_FEATURE": "yes"}), "FINGERPRINT_FEATURE"),
            (
                json!({"FEATURE_SHIFT_METHOD": "spin"}),
                "FEATURE_SHIFT_METHOD",
            ),
            (json!({"POLYNOMIAL_FEATURES": 10_000_000}), "at most"),
            (json!({"POLYNOMIAL_FEATURES": -2}), "POLYNOMIAL_FEATURES"),
            (json!({"SUBSAMPLE_SAMPLES": 1.5}), "SUBSAMPLE_SAMPLES"),
            (json!({"SUBSAMPLE_SAMPLES": 0}), "SUBSAMPLE_SAMPLES"),
            (json!({"MAX_NUMBER_OF_CLASSES": 0}), "MAX_NUMBER_OF_CLASSES"),
            (
                json!({"REGRESSION_Y_PREPROCESS_TRANSFORMS": ["kdi"]}),
                "REGRESSION_Y",
            ),
            (
                json!({"REGRESSION_Y_PREPROCESS_TRANSFORMS": []}),
                "REGRESSION_Y",
            ),
            (
                json!({"PREPROCESS_TRANSFORMS": []}),
                "PREPROCESS_TRANSFORMS",
            ),
            (
                json!({"PREPROCESS_TRANSFORMS": [{"name": "kdi"}]}),
                "entry 0: transform `kdi`",
            ),
            (
                json!({"PREPROCESS_TRANSFORMS": [{"name": "none", "colour": 1}]}),
                "unknown field `colour`",
            ),
            (
                json!({"PREPROCESS_TRANSFORMS": [{"name": "none", "subsample_features": 1e9}]}),
                "subsample_features",
            ),
            (json!({"OUTLIER_REMOVAL_STD": -1.0}), "outlier"),
            (json!([1, 2]), "JSON object"),
        ] {
            let e = applied(v.clone(), Task::Classification)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{v}: {e}");
        }
    }

    #[test]
    fn assignments_read_json_python_and_bare_words() {
        let ic = InferenceConfig::from_assignments(&[
            "FEATURE_SHIFT_METHOD=rotate",
            "CLASS_SHIFT_METHOD=None",
            "FINGERPRINT_FEATURE=False",
            "SUBSAMPLE_SAMPLES=0.25",
            "REGRESSION_Y_PREPROCESS_TRANSFORMS=[null]",
        ])
        .unwrap();
        let mut c = EstimatorConfig::default();
        ic.apply(&mut c, Task::Regression).unwrap();
        assert_eq!(c.feature_shift, ShiftMethod::Rotate);
        assert_eq!(c.class_shift, ShiftMethod::Identity);
        assert!(!c.fingerprint_feature);
        assert_eq!(c.subsample_samples, Some(SubsampleSamples::Fraction(0.25)));
        assert_eq!(c.regression_y_transforms, vec![TargetTransform::None]);
        let twice =
            InferenceConfig::from_assignments(&["FINGERPRINT_FEATURE=1", "FINGERPRINT_FEATURE=0"]);
        assert!(twice.unwrap_err().to_string().contains("twice"));
        assert!(InferenceConfig::from_assignments(&["FINGERPRINT_FEATURE"]).is_err());
    }
}
