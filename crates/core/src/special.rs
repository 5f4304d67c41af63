//! Special functions shared by the crates that need a normal tail without a statistics
//! dependency.

/// The complementary error function `erfc(x)`, by the Chebyshev fit of Press et al.,
/// *Numerical Recipes in C*, 2nd ed. (1992), §6.2 (`erfcc`): fractional error below 1.2e-7
/// everywhere.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}
