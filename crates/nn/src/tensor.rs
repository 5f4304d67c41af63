//! Conversions between plain `f64`/`f32` rows and burn tensors. Networks compute in `f32`.

use burn::tensor::{Device, Tensor, TensorData};

/// The longest inner dimension that gemm sums in one pass whatever the row count (its
/// smallest depth block, 512, in `gemm-common`'s `kernel_params`).
pub const INNER_BLOCK: usize = 512;

/// The most rows that gemm multiplies by one column with its dot-product kernel
/// (`m · n ≤ 16 · 16` in `gemm-common`'s `gemm_basic_generic`).
pub const ROWS_PER_DOT: usize = 256;

/// `x · w` over the last two dimensions, each row's values independent of how many rows come
/// with it.
///
/// The matrix kernel (gemm, under burn's flex backend) picks its summation by the size of the
/// product: a one-column product is summed by a dot-product kernel for up to [`ROWS_PER_DOT`]
/// rows and by a matrix-vector kernel for more, and a long inner dimension is cut into blocks
/// whose length depends on the row count; the choices round differently (last bits). A model
/// applied to a file in batches, or on Spark partitions, must give the numbers it gives on the
/// whole file; so the inner dimension is cut here into fixed blocks of [`INNER_BLOCK`] (gemm
/// then never cuts it) and a one-column product runs on blocks of at most [`ROWS_PER_DOT`]
/// rows, the path that training batches and small inputs take anyway. The general kernel's
/// sums do not otherwise depend on the row count (`tests::rows_do_not_depend_on_the_batch`).
///
/// Training (a tensor on the autodiff device) keeps gemm's own choice: its batches have one
/// size, and the models trained so far, with the numbers in docs/RESULTS.md, stay as they were.
pub fn matmul<const D: usize>(x: Tensor<D>, w: Tensor<D>) -> Tensor<D> {
    let k = x.dims()[D - 1];
    if x.is_autodiff() {
        return x.matmul(w);
    }
    if k <= INNER_BLOCK {
        return matmul_rows(x, w);
    }
    (0..k)
        .step_by(INNER_BLOCK)
        .map(|s| {
            let l = INNER_BLOCK.min(k - s);
            matmul_rows(x.clone().narrow(D - 1, s, l), w.clone().narrow(D - 2, s, l))
        })
        .reduce(|a, b| a + b)
        .expect("the inner dimension is longer than one block")
}

/// `x · w`, a one-column `w` on blocks of at most [`ROWS_PER_DOT`] rows ([`matmul`]).
fn matmul_rows<const D: usize>(x: Tensor<D>, w: Tensor<D>) -> Tensor<D> {
    let m = x.dims()[D - 2];
    if w.dims()[D - 1] != 1 || m <= ROWS_PER_DOT {
        return x.matmul(w);
    }
    let blocks = (0..m)
        .step_by(ROWS_PER_DOT)
        .map(|s| {
            x.clone()
                .narrow(D - 2, s, ROWS_PER_DOT.min(m - s))
                .matmul(w.clone())
        })
        .collect();
    Tensor::cat(blocks, D - 2)
}

/// A `[rows, cols]` tensor from row-major `f32` values.
pub fn from_flat(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    debug_assert_eq!(values.len(), rows * cols);
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

/// A `[rows.len(), cols]` tensor from `f32` rows.
pub fn from_rows(rows: &[Vec<f32>], device: &Device) -> Tensor<2> {
    let cols = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    from_flat(flat, rows.len(), cols, device)
}

/// The selected rows of `data` (row-major, `cols` wide) as a tensor.
pub fn gather_rows(data: &[f32], cols: usize, idx: &[usize], device: &Device) -> Tensor<2> {
    let mut flat = Vec::with_capacity(idx.len() * cols);
    for &i in idx {
        flat.extend_from_slice(&data[i * cols..(i + 1) * cols]);
    }
    from_flat(flat, idx.len(), cols, device)
}

/// Row-major `f32` values of a tensor of any rank.
pub fn to_flat<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    let data = t.into_data();
    match data.as_slice::<f32>() {
        Ok(s) => s.to_vec(),
        Err(_) => data
            .convert::<f32>()
            .as_slice::<f32>()
            .map(<[f32]>::to_vec)
            .unwrap_or_default(),
    }
}

/// A scalar tensor's value.
pub fn scalar(t: Tensor<1>) -> f64 {
    to_flat(t).first().copied().map_or(f64::NAN, f64::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use remedy_core::seed;

    /// Rows 100.. of a product computed with 1..=600 rows equal the same rows of the
    /// 1,200-row product bit for bit, for one-column, narrow, wide and long-inner shapes (before
    /// [`matmul`], the one-column and the 2,000-long shapes differed in the last bits for
    /// most row counts) and for a per-node (rank-3) product.
    #[test]
    fn rows_do_not_depend_on_the_batch() {
        let device = crate::cpu();
        let mut r = seed::rng(4);
        let n = 1200;
        for (k, c) in [(6, 1), (64, 1), (64, 2), (10, 64), (2000, 1), (2000, 3)] {
            let x: Vec<f32> = (0..n * k).map(|_| r.random::<f32>() * 4.0 - 2.0).collect();
            let w = from_flat(
                (0..k * c).map(|_| r.random::<f32>() - 0.5).collect(),
                k,
                c,
                &device,
            );
            let full = to_flat(matmul(from_flat(x.clone(), n, k, &device), w.clone()));
            for m in (1..=600).step_by(7).chain([255, 256, 257, 512, 513]) {
                let part = from_flat(x[100 * k..(100 + m) * k].to_vec(), m, k, &device);
                let got = to_flat(matmul(part, w.clone()));
                assert_eq!(
                    got,
                    full[100 * c..(100 + m) * c],
                    "k {k}, {c} columns, {m} rows"
                );
            }
        }
        let (k, c, nodes) = (8, 1, 3);
        let x: Vec<f32> = (0..nodes * n * k).map(|_| r.random::<f32>()).collect();
        let x = Tensor::<3>::from_data(TensorData::new(x, [nodes, n, k]), &device);
        let w: Vec<f32> = (0..nodes * k * c)
            .map(|_| r.random::<f32>() - 0.5)
            .collect();
        let w = Tensor::<3>::from_data(TensorData::new(w, [nodes, k, c]), &device);
        let full = matmul(x.clone(), w.clone());
        for m in [1, 40, 256, 300, 700] {
            let got = to_flat(matmul(x.clone().narrow(1, 100, m), w.clone()));
            assert_eq!(
                got,
                to_flat(full.clone().narrow(1, 100, m)),
                "rank 3, {m} rows"
            );
        }
    }
}
