//! Identity initialization (Le, Jaitly & Hinton 2015, "A simple way to
//! initialize recurrent networks of rectified linear units": IRNN).

/// `scale · I` for a `rows × cols` matrix, row-major; a rectangular matrix
/// gets `scale` on its leading diagonal `(i, i)`, `i < min(rows, cols)`, as
/// PyTorch's `eye_` and Keras's `Identity` do.
pub(crate) fn identity(rows: usize, cols: usize, scale: f64) -> Vec<f32> {
    let mut w = vec![0.0_f32; rows * cols];
    for i in 0..rows.min(cols) {
        w[i * cols + i] = scale as f32;
    }
    w
}
