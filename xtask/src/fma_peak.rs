//! The machine's own fp32 limit, so a benchmark's GFLOP/s reads as a share
//! of what this CPU can do at all rather than as a ratio to a peer that moves
//! with every machine.
//!
//! The limit is a loop of fused multiply-adds on the widest vectors the CPU
//! has, kept in registers: twelve independent accumulator chains, enough to
//! cover the FMA latency × throughput of every current x86 core (4 cycles × 2
//! ports = 8 in flight), so nothing but the FMA units bounds it. No memory is
//! touched, which makes it an upper bound no real kernel reaches.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// One measured limit: which instructions, on how many threads, at what rate.
#[derive(Debug, Clone)]
pub struct Peak {
    pub isa: &'static str,
    pub threads: usize,
    pub gflops: f64,
}

/// How long each measurement runs: long enough for turbo to settle, short
/// enough that `bench` does not notice.
const RUN: Duration = Duration::from_millis(400);
/// Independent FMA chains per thread.
const CHAINS: usize = 12;
/// FMAs per chain in one call of the kernel (the clock is read between calls).
const STEPS: usize = 100_000;

/// The limit on one thread and on every thread the machine offers.
pub fn measure() -> (Peak, Peak) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    (run(1), run(threads))
}

fn run(threads: usize) -> Peak {
    let (isa, lanes, kernel) = widest();
    let flops_per_call = (2 * CHAINS * STEPS * lanes) as f64;
    // Each thread counts its own calls until RUN has passed; the rate is the
    // total over the slowest thread's time, so a thread that started late
    // does not flatter the figure.
    let results: Vec<(u64, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    kernel(black_box(1.000_000_1));
                    let started = Instant::now();
                    let mut calls = 0u64;
                    while started.elapsed() < RUN {
                        black_box(kernel(black_box(1.000_000_1)));
                        calls += 1;
                    }
                    (calls, started.elapsed())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0, RUN)))
            .collect()
    });
    let calls: u64 = results.iter().map(|r| r.0).sum();
    let slowest = results.iter().map(|r| r.1).max().unwrap_or(RUN);
    Peak {
        isa,
        threads,
        gflops: calls as f64 * flops_per_call / slowest.as_secs_f64() / 1e9,
    }
}

/// The widest FMA this CPU runs: its name, f32 lanes and kernel.
fn widest() -> (&'static str, usize, fn(f32) -> f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return ("AVX-512 FMA", 16, x86::avx512);
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return ("AVX2 FMA", 8, x86::avx2);
        }
    }
    ("scalar mul_add", 1, scalar)
}

/// Scalar fallback: the same twelve chains on single floats.
fn scalar(x: f32) -> f32 {
    let mut acc = [0.0f32; CHAINS];
    for _ in 0..STEPS {
        for a in acc.iter_mut() {
            *a = a.mul_add(x, 0.5);
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{CHAINS, STEPS};
    use std::arch::x86_64::*;

    pub fn avx2(x: f32) -> f32 {
        // SAFETY: chosen by `widest` only where avx2 and fma are detected.
        unsafe { avx2_chains(x) }
    }

    pub fn avx512(x: f32) -> f32 {
        // SAFETY: chosen by `widest` only where avx512f is detected.
        unsafe { avx512_chains(x) }
    }

    /// One kernel per vector width: twelve chains of `fma(acc, m, c)`.
    macro_rules! chains {
        ($name:ident, $feature:literal, $set1:ident, $zero:ident, $fma:ident, $add:ident, $sum:expr) => {
            #[target_feature(enable = $feature)]
            unsafe fn $name(x: f32) -> f32 {
                let m = $set1(x);
                let c = $set1(0.5);
                let mut acc = [$zero(); CHAINS];
                for _ in 0..STEPS {
                    for a in acc.iter_mut() {
                        *a = $fma(*a, m, c);
                    }
                }
                let mut sum = $zero();
                for a in acc {
                    sum = $add(sum, a);
                }
                $sum(sum)
            }
        };
    }

    chains!(
        avx2_chains,
        "avx2,fma",
        _mm256_set1_ps,
        _mm256_setzero_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        |v: __m256| {
            let mut out = [0.0f32; 8];
            _mm256_storeu_ps(out.as_mut_ptr(), v);
            out.iter().sum::<f32>()
        }
    );
    chains!(
        avx512_chains,
        "avx512f",
        _mm512_set1_ps,
        _mm512_setzero_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps,
        |v: __m512| _mm512_reduce_add_ps(v)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each vector kernel this CPU runs does the work it is counted for:
    /// every lane runs the scalar kernel's chains (fused, so bit for bit per
    /// chain), summed.
    #[test]
    fn every_vector_kernel_computes_each_lane_of_the_scalar_chains() {
        let x = 0.999_9;
        let check = |lanes: usize, kernel: fn(f32) -> f32| {
            let expected = scalar(x) * lanes as f32;
            let got = kernel(x);
            assert!(
                (got - expected).abs() <= 1e-5 * expected.abs(),
                "{lanes} lanes: {got} vs {expected}"
            );
        };
        let (_, lanes, kernel) = widest();
        check(lanes, kernel);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            check(8, x86::avx2);
        }
    }
}
