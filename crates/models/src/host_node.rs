//! What the host-computed autodiff nodes (the fused recurrence, the wide
//! read-out) share: a strided matmul, a copy of a tensor to the host, and the
//! type move that `TypeId` makes safe.

use std::any::Any;

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

/// `c = a·b + beta·c` for `a` `[m, k]`, `b` `[k, n]`, `c` `[m, n]`, each given
/// by its row and column strides. Panics (a programming error) when a stride
/// would reach outside its slice, which is what keeps the call sound.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    (rsa, csa): (usize, usize),
    b: &[f32],
    (rsb, csb): (usize, usize),
    beta: f32,
    c: &mut [f32],
    (rsc, csc): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(last(m, n, rsc, csc) < c.len(), "gemm: c out of bounds");
    if k == 0 {
        c.iter_mut().for_each(|v| *v *= beta);
        return;
    }
    assert!(last(m, k, rsa, csa) < a.len(), "gemm: a out of bounds");
    assert!(last(k, n, rsb, csb) < b.len(), "gemm: b out of bounds");
    // SAFETY: every element addressed through the strides lies inside its
    // slice (asserted above); `c` is borrowed mutably, so it aliases neither
    // `a` nor `b`.
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
        );
    }
}

/// A tensor's values on the host. burn-ndarray 0.21 hands over a buffer it owns
/// alone without copying, but copies a shared one (a parameter, an input the
/// graph also keeps) element by element through a dynamic-rank iterator, about
/// 10 ns a value: that was half of an RNN-MNIST train step. Multiplying by one
/// (exact) first makes a fresh buffer in one vectorized pass on any backend.
/// Call it on untracked tensors: on a tracked one the product is a graph node.
pub(crate) fn host_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    tensor_to_vec(t.mul_scalar(1.0))
}

/// Moves a value between two types that `TypeId` has shown to be the same.
fn cast<T: 'static, U: 'static>(value: T) -> Option<U> {
    let boxed: Box<dyn Any> = Box::new(value);
    boxed.downcast::<U>().ok().map(|b| *b)
}

/// A float tensor of `From` as one of `To`, two backends that `TypeId` has
/// shown to be the same.
pub(crate) fn retype<From: Backend, To: Backend, const D: usize>(
    t: Tensor<From, D>,
) -> Tensor<To, D> {
    let primitive: FloatTensor<To> = cast(t.into_primitive().tensor())
        .unwrap_or_else(|| unreachable!("TypeId matched, so the primitive types are equal"));
    Tensor::from_primitive(TensorPrimitive::Float(primitive))
}

/// Copies a tensor's values to the host as f32.
pub fn tensor_to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap_or_default()
}
