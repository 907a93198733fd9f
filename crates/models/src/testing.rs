//! What the crate's matmul tests share: reproducible operands, a bit-for-bit
//! comparison, and `matrixmultiply`'s product to hold a kernel to.

/// `n` values in `[-1, 1)` from a linear congruential sequence.
pub(crate) fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

/// How many places hold different bits (same lengths assumed).
pub(crate) fn differing_bits(a: &[f32], b: &[f32]) -> usize {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.to_bits() != y.to_bits())
        .count()
}

/// `c0` after one `matrixmultiply` call `c = a·b + beta·c`, every operand
/// given by its row and column strides.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matrixmultiply_product(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    (rsa, csa): (usize, usize),
    b: &[f32],
    (rsb, csb): (usize, usize),
    beta: f32,
    c0: &[f32],
    (rsc, csc): (usize, usize),
) -> Vec<f32> {
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(
        last(m, k, rsa, csa) < a.len()
            && last(k, n, rsb, csb) < b.len()
            && last(m, n, rsc, csc) < c0.len(),
        "matrixmultiply_product: strides reach outside an operand"
    );
    let mut c = c0.to_vec();
    // SAFETY: every stride stays inside its slice (asserted above); `c` is
    // a fresh buffer, aliasing neither operand.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            beta,
            c.as_mut_ptr(),
            rsc as isize,
            csc as isize,
        )
    };
    c
}
