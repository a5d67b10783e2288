//! Estimator options from a Python dict, by the reference's argument names; an unknown key
//! or a value of the wrong type is an error naming the key.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tabpfn_model::{EstimatorConfig, InferenceConfig, Task};

use crate::value_err;

/// `EstimatorConfig` from `d` (defaults for absent keys) for an estimator of `task`;
/// `inference_config` (a JSON object of 2.2.1's ModelInterfaceConfig keys) is applied
/// last, by the core's one table of those keys.
pub(crate) fn estimator_config(d: &Bound<'_, PyDict>, task: Task) -> PyResult<EstimatorConfig> {
    let mut cfg = EstimatorConfig::default();
    let mut inference: Option<InferenceConfig> = None;
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        let typed = |what: &str| {
            PyTypeError::new_err(format!(
                "option `{key}`: expected {what}, got {}",
                v.get_type()
            ))
        };
        match key.as_str() {
            "n_estimators" => cfg.n_estimators = v.extract().map_err(|_| typed("an int ≥ 1"))?,
            "softmax_temperature" => {
                cfg.softmax_temperature = v.extract().map_err(|_| typed("a float"))?
            }
            "average_before_softmax" => {
                cfg.average_before_softmax = v.extract().map_err(|_| typed("a bool"))?
            }
            "balance_probabilities" => {
                cfg.balance_probabilities = v.extract().map_err(|_| typed("a bool"))?
            }
            "random_state" => cfg.random_state = v.extract().map_err(|_| typed("an int ≥ 0"))?,
            "categorical_features_indices" => {
                cfg.categorical_features_indices = v
                    .extract()
                    .map_err(|_| typed("None or a list of ints ≥ 0"))?
            }
            "fit_mode" => {
                let s: String = v.extract().map_err(|_| typed("a str"))?;
                cfg.fit_mode = s.parse().map_err(value_err)?;
            }
            "ignore_pretraining_limits" => {
                cfg.ignore_pretraining_limits = v.extract().map_err(|_| typed("a bool"))?
            }
            "inference_config" => {
                let text: String = v.extract().map_err(|_| typed("a JSON str"))?;
                let doc: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| value_err(format!("inference_config: not JSON ({e})")))?;
                inference = Some(InferenceConfig::from_json(&doc).map_err(value_err)?);
            }
            "batch_size" => {
                cfg.batch_size = v.extract().map_err(|_| typed("None or an int ≥ 1"))?
            }
            other => return Err(value_err(format!("unknown estimator option `{other}`"))),
        }
    }
    if let Some(ic) = inference {
        ic.apply(&mut cfg, task).map_err(value_err)?;
    }
    cfg.validate().map_err(value_err)?;
    Ok(cfg)
}
