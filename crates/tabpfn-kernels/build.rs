//! Tells the tests whether the machine that builds them can run the AVX2 + FMA kernels, so
//! the SIMD bit-exactness tests are reported as *ignored* (with the reason) instead of
//! passing without running. The kernels themselves pick their path at run time.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tabpfn_host_avx2)");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // only meaningful when the build host is the test host (no cross-compiling)
        if std::env::var("HOST").ok() == std::env::var("TARGET").ok() {
            println!("cargo::rustc-cfg=tabpfn_host_avx2");
        }
    }
}
