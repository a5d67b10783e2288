//! Reading torch checkpoints and safetensors: valid unusual files, round trips, and every
//! kind of bad input the format issue lists (each a clear error, never a panic).

use std::fs::File;
use std::path::PathBuf;

use ndarray::ArrayD;
use ndarray_npy::NpzReader;
use tabpfn_weights::{Checkpoint, Format, WeightsError};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

fn open_err(rel: &str) -> String {
    let e = Checkpoint::open(fixture(rel)).expect_err(rel);
    let s = e.to_string();
    println!("{rel}: {s}");
    s
}

#[test]
fn mixed_dtypes_strides_and_shared_storage() {
    let ck = Checkpoint::open(fixture("weights/mixed.ckpt")).unwrap();
    assert_eq!(ck.info.format, Format::TorchZip);
    let mut npz =
        NpzReader::new(File::open(fixture("weights/mixed_expected.npz")).unwrap()).unwrap();
    let names = npz.names().unwrap();
    assert_eq!(ck.tensors.len(), names.len());
    for name in names {
        let expected: ArrayD<f32> = npz.by_name(&name).unwrap();
        let t = ck.tensor(&name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(t.shape, expected.shape(), "{name}");
        let got: Vec<f32> = t.data.clone();
        let exp: Vec<f32> = expected.iter().copied().collect();
        assert_eq!(got, exp, "{name}: values differ");
    }
    for d in ["float16", "bfloat16", "float64", "float32"] {
        assert!(ck.info.source_dtypes.contains_key(d), "{d} not recorded");
    }
    assert_eq!(ck.config()["nested"]["a"][1], 2.5);
    assert_eq!(ck.metadata["extra"]["version"], 2);
}

#[test]
fn ckpt_safetensors_round_trip_is_identical() {
    let ck = Checkpoint::open(fixture("model/tiny_reg.ckpt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    ck.save_safetensors(&out).unwrap();
    let back = Checkpoint::open(&out).unwrap();
    assert_eq!(back.info.format, Format::Safetensors);
    let mut a = ck.tensors.clone();
    let mut b = back.tensors.clone();
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(a, b, "tensors differ after the round trip");
    assert_eq!(
        ck.metadata, back.metadata,
        "metadata differs after the round trip"
    );
    assert!(back.tensor("criterion.borders").is_some());
    // only the new file is in the directory: no temporary left behind
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn truncated_zip() {
    let e = open_err("weights/truncated.ckpt");
    assert!(e.contains("truncated.ckpt") && e.contains("zip"), "{e}");
}

#[test]
fn zip_that_is_not_a_checkpoint() {
    let e = open_err("weights/not_torch.zip");
    assert!(e.contains("data.pkl"), "{e}");
}

#[test]
fn empty_file() {
    assert!(open_err("weights/empty.ckpt").contains("empty"));
}

#[test]
fn forbidden_globals_are_named() {
    for (file, global) in [
        ("weights/global_os_system.ckpt", "os.system"),
        ("weights/global_builtins_eval.ckpt", "builtins.eval"),
        ("weights/global_subprocess_popen.ckpt", "subprocess.Popen"),
        ("weights/global_top_level.ckpt", "os.system"),
    ] {
        let e = Checkpoint::open(fixture(file)).expect_err(file);
        assert!(
            matches!(&e, WeightsError::ForbiddenGlobal(g) if g == global),
            "{file}: {e}"
        );
        assert!(e.to_string().contains(global));
    }
}

#[test]
fn storage_shorter_than_tensor() {
    let e = open_err("weights/short_storage.ckpt");
    assert!(e.contains("storage") && e.contains("bytes"), "{e}");
}

#[test]
fn missing_state_dict_or_config() {
    assert!(open_err("weights/no_state_dict.ckpt").contains("`state_dict`"));
    assert!(open_err("weights/no_config.ckpt").contains("`config`"));
}

#[test]
fn corrupt_safetensors_header() {
    let e = open_err("weights/corrupt_header.safetensors");
    assert!(e.contains("corrupt_header.safetensors"), "{e}");
}

#[test]
fn output_in_missing_directory() {
    let ck = Checkpoint::open(fixture("model/tiny_clf.ckpt")).unwrap();
    let e = ck
        .save_safetensors("/nonexistent-dir-for-test/x.safetensors")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("nonexistent-dir-for-test") && e.contains("does not exist"),
        "{e}"
    );
}

#[test]
fn missing_file() {
    let e = Checkpoint::open("/no/such/model.ckpt")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/no/such/model.ckpt"), "{e}");
}

#[test]
fn forbidden_opcode_is_named() {
    // PROTO 2, MARK, INST 'os\nsystem\n' — INST instantiates without REDUCE
    let pickle = b"\x80\x02(ios\nsystem\n.";
    let e = tabpfn_weights::pickle::unpickle(pickle).unwrap_err();
    assert!(e.to_string().contains("INST"), "{e}");
}
