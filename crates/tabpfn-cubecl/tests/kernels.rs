//! Each custom kernel on the wgpu device against Burn's stock op on the CPU (burn-flex) on
//! the same inputs, at sizes that leave partial tiles, blocks and cubes. Tolerance 1e-5
//! absolute (float32; GELU's erf polynomial is within 1.5e-7). Runs with `--features wgpu`
//! on any Vulkan driver, Mesa's software lavapipe included (`scripts/test-wgpu.sh`).
#![cfg(feature = "wgpu")]

use burn::tensor::activation::gelu;
use burn::tensor::module::{attention as stock_attention, layer_norm};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Tensor, TensorData};
use tabpfn_cubecl::{KernelError, MAX_HEAD_DIM};
use tabpfn_test_support::assert_close;

const TOL: f64 = 1e-5;

fn gpu() -> Device {
    Device::wgpu(Default::default())
}

/// Deterministic values in `[-amp, amp) + offset` (xorshift).
fn values(n: usize, seed: u64, amp: f32, offset: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            offset + amp * ((s >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
        })
        .collect()
}

fn tensor<const D: usize>(data: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data.to_vec(), shape), device)
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

fn check_attention(b: usize, h: usize, s: usize, n: usize, dk: usize, dv: usize, amp: f32) {
    // scores of size ~100 carry float32 rounding of ~1e-5 into the weights on either side
    let tol = if amp > 4.0 { 1e-4 } else { TOL };
    let q = values(b * h * s * dk, 1 + s as u64, amp, 0.0);
    let k = values(b * h * n * dk, 2 + n as u64, amp, 0.0);
    let v = values(b * h * n * dv, 3 + dv as u64, 1.0, 0.5);
    let scale = 1.0 / (dk as f32).sqrt();
    let run = |device: &Device| {
        (
            tensor(&q, [b, h, s, dk], device),
            tensor(&k, [b, h, n, dk], device),
            tensor(&v, [b, h, n, dv], device),
        )
    };
    let (qc, kc, vc) = run(&Device::flex());
    let options = AttentionModuleOptions {
        scale: None,
        softcap: None,
        is_causal: false,
    };
    let want = host(stock_attention(qc, kc, vc, None, None, options));
    let (qg, kg, vg) = run(&gpu());
    let got = host(tabpfn_cubecl::attention(qg, kg, vg, scale).expect("kernel applies"));
    let d = assert_close(
        &format!("attention b{b} h{h} s{s} n{n} dk{dk} dv{dv} amp{amp}"),
        &got,
        &want,
        tol,
    );
    println!(
        "attention (B {b}, H {h}, S {s}, N {n}, Dk {dk}, Dv {dv}, amp {amp}): max |Δ| {d:.2e}"
    );
}

#[test]
fn attention_matches_burn_on_partial_tiles() {
    // TabPFN's items attention: one shared head, many folded queries, N not a tile multiple
    check_attention(3, 1, 130, 45, 32, 32, 1.0);
    // several heads and batches, S below one query tile, N below one key tile
    check_attention(2, 6, 11, 7, 32, 32, 1.0);
    // a single key and query; unequal head sizes
    check_attention(1, 1, 1, 1, 8, 8, 1.0);
    check_attention(2, 2, 65, 33, 16, 24, 1.0);
    // large scores: the running maximum must keep exp() in range
    check_attention(1, 2, 40, 100, 32, 32, 12.0);
    // the largest head size, and more (batch, head) pairs than one grid axis holds
    check_attention(1, 1, 70, 40, MAX_HEAD_DIM, MAX_HEAD_DIM, 1.0);
    check_attention(66_000, 1, 1, 2, 4, 4, 1.0);
}

#[test]
fn kernels_read_strided_and_broadcast_inputs() {
    let cpu = Device::flex();
    let g = gpu();
    // a transposed x and a residual broadcast along the rows (stride 0)
    let x = values(48 * 20, 11, 1.0, 0.0);
    let r = values(48, 12, 1.0, 0.0);
    let build = |d: &Device| {
        (
            tensor(&x, [48, 20], d).transpose(),
            tensor(&r, [1, 48], d).expand([20, 48]),
        )
    };
    let (xc, rc) = build(&cpu);
    let want = host(layer_norm(xc + rc, Tensor::ones([48], &cpu), None, 1e-5));
    let (xg, rg) = build(&g);
    let got = host(tabpfn_cubecl::residual_layer_norm(xg, rg, 1e-5).unwrap());
    assert_close("strided layer norm", &got, &want, TOL);
    // queries as a permuted view
    let q = values(2 * 3 * 5 * 8, 13, 1.0, 0.0);
    let k = values(2 * 3 * 9 * 8, 14, 1.0, 0.0);
    let v = values(2 * 3 * 9 * 8, 15, 1.0, 0.0);
    let options = AttentionModuleOptions {
        scale: None,
        softcap: None,
        is_causal: false,
    };
    let run = |d: &Device| {
        (
            tensor(&q, [2, 5, 3, 8], d).swap_dims(1, 2),
            tensor(&k, [2, 3, 9, 8], d),
            tensor(&v, [2, 3, 9, 8], d),
        )
    };
    let (qc, kc, vc) = run(&cpu);
    let want = host(stock_attention(qc, kc, vc, None, None, options));
    let (qg, kg, vg) = run(&g);
    let got = host(tabpfn_cubecl::attention(qg, kg, vg, 1.0 / 8f32.sqrt()).unwrap());
    assert_close("strided attention", &got, &want, TOL);
}

#[test]
fn layer_norm_matches_burn_including_offset_rows() {
    // 70 000 rows: more cubes than one grid axis holds
    for (rows, width, offset) in [
        (300, 192, 0.0),
        (7, 1, 0.0),
        (130, 70, 1000.0),
        (3, 513, 5.0),
        (70_000, 16, 0.0),
    ] {
        let x = values(rows * width, rows as u64, 1.0, offset);
        let r = values(rows * width, width as u64, 0.5, 0.0);
        let cpu = Device::flex();
        let want = host(layer_norm(
            tensor(&x, [rows, width], &cpu) + tensor(&r, [rows, width], &cpu),
            Tensor::ones([width], &cpu),
            None,
            1e-5,
        ));
        let got = host(
            tabpfn_cubecl::residual_layer_norm(
                tensor(&x, [rows, width], &gpu()),
                tensor(&r, [rows, width], &gpu()),
                1e-5,
            )
            .expect("kernel applies"),
        );
        // offset rows: a one-pass E[x²]−E[x]² would lose every digit here
        let tol = if offset > 100.0 { 1e-3 } else { TOL };
        let d = assert_close(&format!("layer norm {rows}×{width}"), &got, &want, tol);
        if width > 1 {
            // normalised rows have mean square ≈ 1: the comparison did not pass on zeros
            let ms = got.iter().map(|v| v * v).sum::<f32>() / got.len() as f32;
            assert!((ms - 1.0).abs() < 0.05, "mean square {ms}");
        }
        println!("residual layer norm ({rows}, {width}), offset {offset}: max |Δ| {d:.2e}");
    }
}

#[test]
fn gelu_matches_burn() {
    let n = 70_001;
    let x = values(n, 9, 10.0, 0.0);
    let want = host(gelu(tensor(&x, [n], &Device::flex())));
    let got = host(tabpfn_cubecl::gelu_erf(tensor(&x, [n], &gpu())).expect("kernel applies"));
    let d = assert_close("gelu", &got, &want, TOL);
    println!("gelu ({n} values in [-10, 10)): max |Δ| {d:.2e}");
}

#[test]
fn kernels_read_lazily_fused_inputs() {
    // inputs that are still pending fused element-wise ops, and an output that feeds more
    let (rows, width) = (40, 192);
    let x = values(rows * width, 4, 1.0, 0.0);
    let r = values(rows * width, 5, 1.0, 0.0);
    let build = |device: &Device| {
        (
            tensor(&x, [rows, width], device) * 2.0 + 1.0,
            tensor(&r, [rows, width], device).exp(),
        )
    };
    let cpu = Device::flex();
    let (xc, rc) = build(&cpu);
    let want = host(layer_norm(xc + rc, Tensor::ones([width], &cpu), None, 1e-5) * 3.0);
    let (xg, rg) = build(&gpu());
    let got = host(tabpfn_cubecl::residual_layer_norm(xg, rg, 1e-5).unwrap() * 3.0);
    assert_close("fused inputs", &got, &want, TOL);
}

#[test]
fn kernels_refuse_what_they_do_not_handle() {
    let g = gpu();
    let q = Tensor::<4>::zeros([1, 1, 4, 8], &g);
    let no_keys = Tensor::<4>::zeros([1, 1, 0, 8], &g);
    let err = tabpfn_cubecl::attention(q.clone(), no_keys.clone(), no_keys, 1.0).unwrap_err();
    assert!(
        matches!(err, KernelError::Unsupported(ref m) if m.contains("no keys")),
        "{err}"
    );
    let wide = MAX_HEAD_DIM + 1;
    let qw = Tensor::<4>::zeros([1, 1, 4, wide], &g);
    let kw = Tensor::<4>::zeros([1, 1, 3, wide], &g);
    assert!(tabpfn_cubecl::attention(qw, kw.clone(), kw, 1.0).is_err());
    let k = Tensor::<4>::zeros([1, 2, 3, 8], &g);
    assert!(tabpfn_cubecl::attention(q, k.clone(), k, 1.0).is_err());
    let a = Tensor::<2>::zeros([2, 3], &g);
    let b = Tensor::<2>::zeros([3, 2], &g);
    assert!(tabpfn_cubecl::residual_layer_norm(a, b, 1e-5).is_err());
    let cpu = Tensor::<1>::zeros([3], &Device::flex());
    assert_eq!(
        tabpfn_cubecl::gelu_erf(cpu).unwrap_err(),
        KernelError::NotCube
    );
}
