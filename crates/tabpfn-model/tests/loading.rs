//! Checkpoint validation against the architecture, and .ckpt / .safetensors equivalence.

use std::path::PathBuf;

use burn::tensor::Device;
use tabpfn_model::{ForwardOptions, ModelConfig, PerFeatureTransformer, Table};
use tabpfn_weights::Checkpoint;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

fn load_err(rel: &str) -> String {
    let e = PerFeatureTransformer::load(fixture(rel), &Device::flex()).expect_err(rel);
    let s = e.to_string();
    println!("{rel}: {s}");
    s
}

#[test]
fn wrong_shape_names_key_and_both_shapes() {
    let e = load_err("weights/wrong_shape.ckpt");
    assert!(
        e.contains("decoder_dict.standard.0.weight")
            && e.contains("[16, 32]")
            && e.contains("[32, 16]"),
        "{e}"
    );
}

#[test]
fn unknown_and_missing_keys_are_errors() {
    let e = load_err("weights/unknown_key.ckpt");
    assert!(
        e.contains("unexpected.weight") && e.contains("unexpected key"),
        "{e}"
    );
    let e = load_err("weights/missing_key.ckpt");
    assert!(
        e.contains("transformer_encoder.layers.1.mlp.linear2.weight") && e.contains("missing"),
        "{e}"
    );
}

#[test]
fn unsupported_config_value_names_the_field() {
    let e = load_err("weights/bad_config.ckpt");
    assert!(e.contains("features_per_group") && e.contains('3'), "{e}");
}

#[test]
fn a_file_that_is_not_a_model() {
    let e = load_err("weights/not_torch.zip");
    assert!(e.contains("not_torch.zip"), "{e}");
    let e = load_err("attention/basic_self.npz");
    assert!(e.contains("basic_self.npz"), "{e}");
}

#[test]
fn ckpt_and_converted_safetensors_give_identical_logits() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("tiny_clf.safetensors");
    Checkpoint::open(fixture("model/tiny_clf.ckpt"))
        .unwrap()
        .save_safetensors(&st)
        .unwrap();
    let device = Device::flex();
    let a = PerFeatureTransformer::load(fixture("model/tiny_clf.ckpt"), &device).unwrap();
    let b = PerFeatureTransformer::load(&st, &device).unwrap();
    let x: Vec<f32> = (0..40)
        .map(|i| ((i * 37 % 11) as f32) * 0.3 - 1.0)
        .collect();
    let y = [0.0, 1.0, 2.0, 1.0, 0.0, 1.0];
    let t = Table::new(&x, 8, 5).unwrap();
    let la = a.forward(t, &y, ForwardOptions::default()).unwrap();
    let lb = b.forward(t, &y, ForwardOptions::default()).unwrap();
    assert_eq!(la, lb);
}

#[test]
fn bad_inputs_are_errors() {
    let m = PerFeatureTransformer::load(fixture("model/tiny_clf.ckpt"), &Device::flex()).unwrap();
    let x = vec![0.0f32; 12];
    assert!(Table::new(&x, 5, 3)
        .unwrap_err()
        .to_string()
        .contains("rows × cols"));
    let t = Table::new(&x, 4, 3).unwrap();
    let e = m
        .forward(t, &[], ForwardOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`y`") && e.contains("train row"), "{e}");
    let e = m
        .forward(t, &[0.0; 5], ForwardOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("5 train targets"), "{e}");
    let huge = vec![3.0e38f32, -3.0e38, 3.0e38, -3.0e38, 1.0, 2.0];
    let e = m
        .forward(
            Table::new(&huge, 6, 1).unwrap(),
            &[0.0, 1.0, 0.0, 1.0],
            ForwardOptions::default(),
        )
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("overflow"), "{e}");
}

#[test]
fn config_upgrades_like_the_reference() {
    let parse = |s: &str| {
        ModelConfig::from_json(
            serde_json::from_str::<serde_json::Value>(s)
                .unwrap()
                .as_object()
                .unwrap(),
        )
    };
    let c = parse(r#"{"max_num_classes": 10, "num_buckets": 1000, "use_flash_attention": true,
                      "attention_type": "full", "attention_init_gain": null, "two_sets_of_queries": false}"#)
        .unwrap();
    assert_eq!(
        (c.emsize, c.nhead, c.nlayers, c.features_per_group),
        (192, 6, 12, 2)
    );
    for (bad, field) in [
        (
            r#"{"max_num_classes": 10, "num_buckets": 1, "two_sets_of_queries": true}"#,
            "two_sets_of_queries",
        ),
        (
            r#"{"max_num_classes": 10, "num_buckets": 1, "normalize_to_ranking": true}"#,
            "normalize_to_ranking",
        ),
        (
            r#"{"max_num_classes": 2, "num_buckets": 1}"#,
            "max_num_classes",
        ),
        (r#"{"num_buckets": 1}"#, "max_num_classes"),
        (
            r#"{"max_num_classes": 10, "num_buckets": 1, "emsize": 190}"#,
            "emsize",
        ),
        (
            r#"{"max_num_classes": 10, "num_buckets": 1, "feature_positional_embedding": "learned"}"#,
            "feature_positional_embedding",
        ),
        (
            r#"{"max_num_classes": 10, "num_buckets": 1, "attention_type": "full", "item_attention_type": "full"}"#,
            "attention_type",
        ),
    ] {
        let e = parse(bad).unwrap_err().to_string();
        assert!(e.contains(field), "{bad}: {e}");
    }
}
