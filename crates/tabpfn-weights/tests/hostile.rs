//! Hostile checkpoint files, one per class of attack: each must be refused with an error
//! that names the limit or the problem — quickly, without a panic, a stack overflow or an
//! allocation the file's size does not justify.

use std::time::Instant;

use tabpfn_weights::{pickle, Checkpoint};

/// A minimal pickle writer for building hostile inputs.
#[derive(Default)]
struct Pickle(Vec<u8>);

impl Pickle {
    fn proto(mut self) -> Self {
        self.0.extend([0x80, 2]);
        self
    }
    fn op(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
    fn str(mut self, s: &str) -> Self {
        self.0.push(b'X');
        self.0.extend((s.len() as u32).to_le_bytes());
        self.0.extend(s.as_bytes());
        self
    }
    fn int(mut self, v: u32) -> Self {
        self.0.push(b'J');
        self.0.extend(v.to_le_bytes());
        self
    }
    fn long(mut self, v: i64) -> Self {
        self.0.extend([0x8a, 8]);
        self.0.extend(v.to_le_bytes());
        self
    }
    fn put(mut self, i: u32) -> Self {
        self.0.push(b'r');
        self.0.extend(i.to_le_bytes());
        self
    }
    fn get(mut self, i: u32) -> Self {
        self.0.push(b'j');
        self.0.extend(i.to_le_bytes());
        self
    }
    fn stop(mut self) -> Vec<u8> {
        self.0.push(b'.');
        self.0
    }
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    let s = t.elapsed().as_secs_f64();
    println!("{what}: refused in {s:.3} s");
    assert!(s < 20.0, "{what} took {s:.1} s");
    r
}

#[test]
fn a_memo_that_doubles_is_a_budget_error() {
    // memo[0] = [x]; then memo[i+1] = [memo[i], memo[i]]: 2^40 nodes from ~800 bytes
    let mut p = Pickle::default().proto().op(b"]").str("x").op(b"a").put(0);
    for i in 0..40 {
        p = p.op(b"(").get(i).get(i).op(b"l").put(i + 1);
    }
    let bytes = p.get(40).stop();
    let e = timed("memo doubling", || pickle::unpickle(&bytes)).unwrap_err();
    assert!(e.to_string().contains("memory bomb"), "{e}");
}

#[test]
fn a_million_nested_lists_is_a_depth_error() {
    let mut bytes = vec![0x80, 2];
    for _ in 0..1_000_000 {
        bytes.extend(b"](");
    }
    // close nothing: the nesting alone must be refused (and dropping it must not overflow)
    for _ in 0..1_000_000 {
        bytes.extend(b"e");
    }
    bytes.push(b'.');
    let e = timed("deep nesting", || pickle::unpickle(&bytes)).unwrap_err();
    // the stack's cost or its depth, whichever limit is reached first
    let e = e.to_string();
    assert!(
        e.contains("nested deeper") || e.contains("memory bomb"),
        "{e}"
    );
    // the same with tuples built from marks
    let mut bytes = vec![0x80, 2];
    bytes.extend(std::iter::repeat_n(b'(', 100_000));
    bytes.extend(std::iter::repeat_n(b't', 100_000));
    bytes.push(b'.');
    let e = pickle::unpickle(&bytes).unwrap_err();
    assert!(e.to_string().contains("nested deeper"), "{e}");
}

#[test]
fn many_dict_keys_parse_in_linear_time() {
    // 200 000 SETITEMs on one dict (with duplicates): quadratic work would take minutes
    let mut p = Pickle::default().proto().op(b"}");
    for i in 0..200_000u32 {
        p = p.str(&format!("k{}", i % 150_000)).int(i).op(b"s");
    }
    let bytes = p.stop();
    let t = Instant::now();
    let v = pickle::unpickle(&bytes).unwrap();
    println!("200 000 dict items: {:.3} s", t.elapsed().as_secs_f64());
    let d = v.as_dict().unwrap();
    assert_eq!(d.len(), 150_000);
    // the last value set wins, as in Python
    assert_eq!(v.get("k0"), Some(&pickle::Value::Int(150_000)));
}

/// A torch-style archive with the given entries (stored or deflated).
fn archive(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    tabpfn_test_support::zip_archive(entries)
}

/// Pushes `torch._utils._rebuild_tensor_v2(storage '0' of `numel` floats, offset, size,
/// stride, False)` onto the pickle's stack.
fn tensor(p: Pickle, numel: u32, offset: i64, size: &[i64], stride: &[i64]) -> Pickle {
    let mut p = p
        .op(b"ctorch._utils\n_rebuild_tensor_v2\n")
        .op(b"((")
        .str("storage")
        .op(b"ctorch\nFloatStorage\n")
        .str("0")
        .str("cpu")
        .int(numel)
        .op(b"tQ")
        .long(offset)
        .op(b"(");
    for &s in size {
        p = p.long(s);
    }
    p = p.op(b"t(");
    for &s in stride {
        p = p.long(s);
    }
    p.op(b"t").op(b"\x89").op(b"tR")
}

/// `{'state_dict': {'w': tensor(storage '0', offset, size, stride)}, 'config': {}}`.
fn state_dict_pickle(numel: u32, offset: i64, size: &[i64], stride: &[i64]) -> Vec<u8> {
    let p = Pickle::default()
        .proto()
        .op(b"}")
        .str("state_dict")
        .op(b"}")
        .str("w");
    tensor(p, numel, offset, size, stride)
        .op(b"s")
        .op(b"s")
        .str("config")
        .op(b"}")
        .op(b"s")
        .stop()
}

fn open_bytes(bytes: &[u8]) -> String {
    let e = Checkpoint::from_bytes("hostile.ckpt", bytes).unwrap_err();
    let s = e.to_string();
    println!("{s}");
    s
}

#[test]
fn a_valid_tiny_archive_loads() {
    let pkl = state_dict_pickle(4, 0, &[2, 2], &[2, 1]);
    let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let bytes = archive(&[("m/data.pkl", &pkl, false), ("m/data/0", &data, false)]);
    let ck = Checkpoint::from_bytes("tiny.ckpt", &bytes).unwrap();
    assert_eq!(ck.tensor("w").unwrap().data, vec![1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn a_stride_zero_view_of_two_to_the_forty_elements_is_refused() {
    let pkl = state_dict_pickle(1, 0, &[1 << 20, 1 << 20], &[0, 0]);
    let bytes = archive(&[("m/data.pkl", &pkl, false), ("m/data/0", &[0u8; 4], false)]);
    let e = timed("stride-0 view", || open_bytes(&bytes));
    assert!(e.contains("`w`") && e.contains("elements"), "{e}");
}

#[test]
fn an_overflowing_view_bound_is_an_error_not_a_panic() {
    let pkl = state_dict_pickle(4, i64::MAX - 1, &[2, 2], &[i64::MAX, i64::MAX]);
    let bytes = archive(&[("m/data.pkl", &pkl, false), ("m/data/0", &[0u8; 16], false)]);
    let e = open_bytes(&bytes);
    assert!(e.contains("`w`") && e.contains("beyond its storage"), "{e}");
}

#[test]
fn a_zip_bomb_is_refused_by_the_inflation_budget() {
    // 200 MB of zeros deflate to ~200 KB: over 64 MiB + 16 × the archive's size
    let zeros = vec![0u8; 200 << 20];
    let pkl = state_dict_pickle(1, 0, &[1], &[1]);
    let bytes = archive(&[("m/data.pkl", &pkl, false), ("m/data/0", &zeros, true)]);
    drop(zeros);
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    let e = timed("zip bomb", || open_bytes(&bytes));
    assert!(e.contains("zip bomb"), "{e}");
}

#[test]
fn an_entry_that_lies_about_its_size_is_refused_before_allocating() {
    let pkl = state_dict_pickle(1, 0, &[1], &[1]);
    let mut bytes = archive(&[("m/data.pkl", &pkl, false), ("m/data/0", &[0u8; 4], false)]);
    // the central directory's uncompressed size of every entry → 4 GB
    let mut i = 0;
    while i + 46 <= bytes.len() {
        if bytes[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] {
            bytes[i + 24..i + 28].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        }
        i += 1;
    }
    let e = open_bytes(&bytes);
    assert!(e.contains("claims") || e.contains("zip"), "{e}");
}

#[test]
fn legacy_torch_files_are_recognised() {
    let mut bytes = vec![0x80, 0x02, 0x8a, 0x0a];
    bytes.extend(0x1950a86a20f9469cfc6cu128.to_le_bytes()[..10].iter());
    bytes.extend([0x2e; 20]);
    let e = open_bytes(&bytes);
    assert!(e.contains("legacy"), "{e}");
}

#[test]
fn a_bad_safetensors_header_length_says_so() {
    let mut bytes = (1_000_000u64).to_le_bytes().to_vec();
    bytes.extend(b"{\"a\": 1}");
    let e = open_bytes(&bytes);
    assert!(e.contains("safetensors") && e.contains("header"), "{e}");
    assert!(!e.contains("zip"), "{e}");
}

#[test]
fn an_unknown_format_is_named_as_such() {
    let e = open_bytes(b"hello, world: not a model at all");
    assert!(e.contains("neither a zip archive"), "{e}");
}

#[test]
fn a_run_of_marks_is_charged_to_the_budget() {
    // 10 M `(` (10 MB) push 10 M stack slots: more than 64 MiB + 16 × 10 MB of values
    let mut bytes = vec![0x80, 2];
    bytes.extend(std::iter::repeat_n(b'(', 10_000_000));
    bytes.push(b'.');
    let e = timed("marks", || pickle::unpickle(&bytes)).unwrap_err();
    assert!(e.to_string().contains("memory bomb"), "{e}");
}

#[test]
fn a_deflated_pickle_gets_the_archives_budget_not_its_own() {
    // 60 MiB of `(` deflate to ~60 KB; budgeted by its own inflated size the pickle could
    // build ~1 GB of stack, budgeted by the archive it stops near 64 MiB
    let mut pkl = vec![0x80, 2];
    pkl.extend(std::iter::repeat_n(b'(', 60 << 20));
    pkl.push(b'.');
    let bytes = archive(&[("m/data.pkl", &pkl, true)]);
    drop(pkl);
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    let e = timed("deflated marks", || open_bytes(&bytes));
    assert!(e.contains("memory bomb") && e.contains("input's"), "{e}");
}

/// `{'state_dict': {'w0': T, 'w1': T, …}}` with one memoised tensor `T` over a storage of
/// `numel` floats, referenced by `entries` keys.
fn shared_view_pickle(numel: u32, entries: u32) -> Vec<u8> {
    let p = Pickle::default()
        .proto()
        .op(b"}")
        .str("state_dict")
        .op(b"}")
        .str("w0");
    let mut p = tensor(p, numel, 0, &[numel as i64], &[1]).put(0).op(b"s");
    for i in 1..entries {
        p = p.str(&format!("w{i}")).get(0).op(b"s");
    }
    p.op(b"s").str("config").op(b"}").op(b"s").stop()
}

#[test]
fn many_entries_sharing_one_view_are_refused() {
    // 1 MiB of storage read 1000 times would be 1 GB of f32 from a 1 MB file
    let numel = 1u32 << 18;
    let data = vec![0u8; 4 * numel as usize];
    let pkl = shared_view_pickle(numel, 1000);
    let bytes = archive(&[("m/data.pkl", &pkl, false), ("m/data/0", &data, false)]);
    let e = timed("shared views", || open_bytes(&bytes));
    assert!(e.contains("views re-used"), "{e}");
    // tied weights (a storage read twice) are fine
    let pkl = shared_view_pickle(numel, 2);
    let bytes = archive(&[("m/data.pkl", &pkl, false), ("m/data/0", &data, false)]);
    let ck = Checkpoint::from_bytes("tied.ckpt", &bytes).unwrap();
    assert_eq!(ck.tensor("w1").unwrap().data.len(), numel as usize);
}
