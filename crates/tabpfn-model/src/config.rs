//! The checkpoint's `config` dict, parsed the way tabpfn 2.2.1 parses it
//! (`ModelConfig.upgrade_config` + the pydantic field types of `architectures/base/config.py`).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ModelError, Result};

/// What the network predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// `max_num_classes` logits per test row.
    Classification,
    /// `num_buckets` logits of a bar distribution per test row.
    Regression,
}

impl Task {
    /// "classification" or "regression", as the front ends word it.
    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
    }
}

/// The architecture fields of a TabPFN v2 checkpoint config, with 2.2.1's defaults.
///
/// Only fields that change the network are kept; training bookkeeping (`batch_size`,
/// `seq_len`, …) is ignored like the reference ignores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelConfig {
    pub emsize: usize,
    pub nhead: usize,
    pub nlayers: usize,
    pub nhid_factor: usize,
    pub features_per_group: usize,
    pub max_num_classes: usize,
    pub num_buckets: usize,
    pub remove_duplicate_features: bool,
    pub encoder_use_bias: bool,
    /// `"subspace"` or `None`.
    pub feature_positional_embedding: Option<String>,
    /// Seed of the positional-embedding table (torch CPU generator).
    pub seed: u64,
    /// Configured dropout; inference never applies it.
    pub dropout: f64,
}

/// Limits on the architecture a config may describe, far above any TabPFN checkpoint (v2:
/// 12 layers, E = 192, 6 heads, 5 000 buckets): a config beyond them is corrupt or hostile,
/// and the loader refuses it before it sizes anything by it.
pub mod limits {
    /// Encoder layers (v2: 12).
    pub const MAX_LAYERS: usize = 256;
    /// Model width E (v2: 192).
    pub const MAX_EMSIZE: usize = 16_384;
    /// Attention heads (v2: 6).
    pub const MAX_HEADS: usize = 1_024;
    /// MLP and decoder hidden width E · nhid_factor (v2: 768).
    pub const MAX_HIDDEN: usize = 1 << 18;
    /// Regression buckets (v2: 5 000).
    pub const MAX_BUCKETS: usize = 1 << 20;
    /// Classifier outputs (v2: 10).
    pub const MAX_CLASSES: usize = 1 << 16;
}

fn cfg_err(field: &str, value: &Value, expected: impl Into<String>) -> ModelError {
    ModelError::Config {
        field: field.to_string(),
        value: value.to_string(),
        expected: expected.into(),
    }
}

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn uint(&self, field: &str, default: Option<usize>) -> Result<usize> {
        match self.0.get(field) {
            None => {
                default.ok_or_else(|| cfg_err(field, &Value::Null, "required field is missing"))
            }
            Some(v) => v
                .as_u64()
                .map(|x| x as usize)
                .ok_or_else(|| cfg_err(field, v, "expected a non-negative integer")),
        }
    }

    fn boolean(&self, field: &str, default: bool) -> Result<bool> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            // pydantic accepts 0/1 for bools
            Some(v) if v.as_u64() == Some(0) => Ok(false),
            Some(v) if v.as_u64() == Some(1) => Ok(true),
            Some(v) => Err(cfg_err(field, v, "expected a bool")),
        }
    }

    /// A field pinned to one value by the reference (`Literal[...]` in 2.2.1).
    fn pinned_bool(&self, field: &str, pinned: bool) -> Result<()> {
        let got = self.boolean(field, pinned)?;
        if got != pinned {
            return Err(cfg_err(
                field,
                &Value::Bool(got),
                format!("tabpfn 2.2.1 (and this port) only supports {pinned}"),
            ));
        }
        Ok(())
    }

    fn pinned_str(&self, field: &str, pinned: &str) -> Result<()> {
        match self.0.get(field) {
            None => Ok(()),
            Some(Value::String(s)) if s == pinned => Ok(()),
            Some(v) => Err(cfg_err(field, v, format!("only \"{pinned}\" is supported"))),
        }
    }
}

impl ModelConfig {
    /// Parses and validates a checkpoint config. Unknown keys are ignored; values the
    /// reference rejects, or that this port does not implement, are errors naming the field.
    pub fn from_json(config: &Map<String, Value>) -> Result<Self> {
        let mut config = config.clone();
        // upgrade_config: legacy keys
        config.remove("use_flash_attention");
        if let Some(t) = config.remove("attention_type") {
            if config.contains_key("item_attention_type")
                || config.contains_key("feature_attention_type")
            {
                return Err(cfg_err(
                    "attention_type",
                    &t,
                    "can't have both the old `attention_type` and the new per-axis types",
                ));
            }
            config.insert("item_attention_type".into(), t.clone());
            config.insert("feature_attention_type".into(), t);
        }
        for field in ["canonical_y_encoder", "bias", "two_sets_of_queries"] {
            if let Some(v) = config.get(field) {
                if !matches!(v, Value::Bool(false) | Value::Null) && v.as_u64() != Some(0) {
                    return Err(cfg_err(
                        field,
                        v,
                        "only false is supported (as in tabpfn 2.2.1)",
                    ));
                }
            }
        }
        let f = Fields(&config);

        for (field, pinned) in [
            ("multiquery_item_attention", false),
            ("nan_handling_enabled", true),
            ("nan_handling_y_encoder", true),
            ("normalize_by_used_features", true),
            ("normalize_on_train_only", true),
            ("normalize_to_ranking", false),
            ("normalize_x", true),
            ("remove_empty_features", true),
            ("remove_outliers", false),
            ("use_separate_decoder", false),
            ("multiquery_item_attention_for_test_set", true),
        ] {
            f.pinned_bool(field, pinned)?;
        }
        f.pinned_str("item_attention_type", "full")?;
        f.pinned_str("feature_attention_type", "full")?;
        if let Some(v) = config.get("dag_pos_enc_dim") {
            if !(v.is_null() || v.as_u64() == Some(0)) {
                return Err(cfg_err(
                    "dag_pos_enc_dim",
                    v,
                    "DAG positional encodings are not supported",
                ));
            }
        }

        let bounded = |field: &str, default: Option<usize>, max: usize| -> Result<usize> {
            let v = f.uint(field, default)?;
            if v > max {
                return Err(cfg_err(
                    field,
                    &Value::from(v),
                    format!("exceeds this port's limit of {max} (corrupt config?)"),
                ));
            }
            Ok(v)
        };
        let emsize = bounded("emsize", Some(192), limits::MAX_EMSIZE)?;
        let nhead = bounded("nhead", Some(6), limits::MAX_HEADS)?;
        if nhead == 0 || emsize == 0 || emsize % nhead != 0 {
            return Err(cfg_err(
                "emsize",
                &Value::from(emsize),
                format!("must be a positive multiple of nhead ({nhead})"),
            ));
        }
        if emsize % 4 != 0 {
            return Err(cfg_err(
                "emsize",
                &Value::from(emsize),
                "must be a multiple of 4 (subspace embedding)",
            ));
        }
        let features_per_group = f.uint("features_per_group", Some(2))?;
        if !(1..=2).contains(&features_per_group) {
            return Err(cfg_err(
                "features_per_group",
                &Value::from(features_per_group),
                "must be 1 or 2",
            ));
        }
        let nlayers = bounded("nlayers", Some(12), limits::MAX_LAYERS)?;
        let nhid_factor = f.uint("nhid_factor", Some(4))?;
        if nlayers == 0 || nhid_factor == 0 {
            return Err(cfg_err(
                "nlayers",
                &Value::from(nlayers),
                "nlayers and nhid_factor must be positive",
            ));
        }
        match emsize.checked_mul(nhid_factor) {
            Some(h) if h <= limits::MAX_HIDDEN => {}
            _ => {
                return Err(cfg_err(
                    "nhid_factor",
                    &Value::from(nhid_factor),
                    format!(
                        "emsize × nhid_factor must stay within {} (emsize {emsize})",
                        limits::MAX_HIDDEN
                    ),
                ))
            }
        }
        let max_num_classes = bounded("max_num_classes", None, limits::MAX_CLASSES)?;
        let num_buckets = bounded("num_buckets", None, limits::MAX_BUCKETS)?;
        match max_num_classes {
            0 if num_buckets < 2 => {
                return Err(cfg_err("num_buckets", &Value::from(num_buckets), "a regressor needs at least 2 buckets"))
            }
            0 => {}
            1 | 2 => {
                return Err(cfg_err(
                    "max_num_classes",
                    &Value::from(max_num_classes),
                    "0 (regression) or > 2 (classification) is supported; 2 would be a BCE head, which no \
                     TabPFN checkpoint uses",
                ))
            }
            _ => {}
        }
        let feature_positional_embedding = match config.get("feature_positional_embedding") {
            None => Some("subspace".to_string()),
            Some(Value::Null) => None,
            Some(Value::String(s)) if s == "subspace" => Some(s.clone()),
            Some(v) => {
                return Err(cfg_err(
                    "feature_positional_embedding",
                    v,
                    "only \"subspace\" (every v2 checkpoint) or null is supported",
                ))
            }
        };
        let seed = match config.get("seed") {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| cfg_err("seed", v, "expected a non-negative integer"))?,
        };
        let dropout = match config.get("dropout") {
            None | Some(Value::Null) => 0.0,
            Some(v) => v
                .as_f64()
                .ok_or_else(|| cfg_err("dropout", v, "expected a number"))?,
        };
        Ok(Self {
            emsize,
            nhead,
            nlayers,
            nhid_factor,
            features_per_group,
            max_num_classes,
            num_buckets,
            remove_duplicate_features: f.boolean("remove_duplicate_features", false)?,
            encoder_use_bias: f.boolean("encoder_use_bias", false)?,
            feature_positional_embedding,
            seed,
            dropout,
        })
    }

    /// Classification or regression, from `max_num_classes`.
    pub fn task(&self) -> Task {
        if self.max_num_classes == 0 {
            Task::Regression
        } else {
            Task::Classification
        }
    }

    /// Number of decoder outputs: classes or buckets.
    pub fn n_out(&self) -> usize {
        match self.task() {
            Task::Classification => self.max_num_classes,
            Task::Regression => self.num_buckets,
        }
    }

    /// MLP and decoder hidden width.
    pub fn nhid(&self) -> usize {
        self.emsize * self.nhid_factor
    }
}
