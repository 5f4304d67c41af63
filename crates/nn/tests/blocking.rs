//! Same seed, same bits on any x86-64 processor with AVX2 and FMA: a matrix product sums its
//! inner dimension in blocks of 512, in order, whatever the machine's caches. The matrix
//! multiply (gemm, under burn's CPU backend) chose the block depth from the L1 cache's
//! geometry it read from the machine: 512 on this project's machines, 1024 on a Xeon with a
//! 48 KiB 12-way L1, so the same seed trained different networks there (RootCLAM flip Y 0.519
//! instead of 0.529 on Loan seed 1, NaiveAM 0.635 instead of 0.979). `vendor/gemm-common` pins
//! the geometry; this test states the contract in arithmetic, so that it fails wherever the
//! depth differs.

use rand::Rng;
use remedy_nn::tensor::{from_flat, to_flat};

/// A product with an inner dimension of 2,048 equals, bit for bit, the sum of its four
/// 512-deep block products added in order; summed in blocks of 1,024 it would not.
#[test]
fn products_sum_the_inner_dimension_in_blocks_of_512() {
    let (m, k, n) = (64, 2048, 48);
    let mut rng = remedy_core::seed::rng(11);
    let mut draw =
        |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect() };
    let (a, b) = (draw(m * k), draw(k * n));
    let device = remedy_nn::cpu();
    let whole =
        to_flat(from_flat(a.clone(), m, k, &device).matmul(from_flat(b.clone(), k, n, &device)));
    let block = |lo: usize, hi: usize| {
        let a_part: Vec<f32> = (0..m)
            .flat_map(|r| a[r * k + lo..r * k + hi].to_vec())
            .collect();
        let b_part = b[lo * n..hi * n].to_vec();
        from_flat(a_part, m, hi - lo, &device).matmul(from_flat(b_part, hi - lo, n, &device))
    };
    let in_order = |depth: usize| {
        let mut sum = block(0, depth);
        for lo in (depth..k).step_by(depth) {
            sum = sum + block(lo, lo + depth);
        }
        to_flat(sum)
    };
    let (by_512, by_1024) = (in_order(512), in_order(1024));
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    // The two block depths round differently on these data (else the test could not tell).
    assert_ne!(bits(&by_512), bits(&by_1024));
    assert_eq!(
        bits(&whole),
        bits(&by_512),
        "the product is not summed in blocks of 512"
    );
}
