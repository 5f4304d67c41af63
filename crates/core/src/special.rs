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

/// `ln Γ(x)` for `x > 0`, by Lanczos' approximation as in *Numerical Recipes* §6.1 (`gammln`):
/// absolute error below 2e-10.
pub fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 6] = [
        76.180_091_729_471_46,
        -86.505_320_329_416_77,
        24.014_098_240_830_91,
        -1.231_739_572_450_155,
        0.120_865_097_386_617_9e-2,
        -0.539_523_938_495_3e-5,
    ];
    let tmp = x + 5.5;
    let tmp = tmp - (x + 0.5) * tmp.ln();
    let mut ser = 1.000_000_000_190_015;
    for (j, c) in C.iter().enumerate() {
        ser += c / (x + 1.0 + j as f64);
    }
    -tmp + (2.506_628_274_631_000_5 * ser / x).ln()
}

/// The regularised upper incomplete gamma function `Q(a, x) = Γ(a, x) / Γ(a)` for `a > 0`,
/// `x ≥ 0`: its series below `x = a + 1`, Lentz's continued fraction above (*Numerical
/// Recipes* §6.2, `gammq`), to a relative 1e-14.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let front = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        let (mut ap, mut del) = (a, 1.0 / a);
        let mut sum = del;
        for _ in 0..10_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (1.0 - sum * front.exp()).max(0.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        front.exp() * h
    }
}

/// The chi-square survival function `P(χ²_df > x)`.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    gamma_q(df / 2.0, x / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_square_tail_matches_closed_forms() {
        for &x in &[0.0, 0.1, 1.0, 2.5, 7.0, 20.0, 80.0] {
            // df = 2: exp(-x/2); df = 4: exp(-x/2)(1 + x/2); df = 1: erfc(sqrt(x/2)).
            let e = (-x / 2.0_f64).exp();
            assert!(
                (chi2_sf(x, 2.0) - e).abs() <= 1e-12 * e.max(1e-300),
                "df 2 at {x}"
            );
            let e4 = e * (1.0 + x / 2.0);
            assert!(
                (chi2_sf(x, 4.0) - e4).abs() <= 1e-12 * e4.max(1e-300),
                "df 4 at {x}"
            );
            let e1 = erfc((x / 2.0).sqrt());
            assert!((chi2_sf(x, 1.0) - e1).abs() <= 2e-7 * e1, "df 1 at {x}");
        }
        // ln Γ at integers: ln((n-1)!).
        assert!((ln_gamma(10.0) - 362_880.0_f64.ln()).abs() < 1e-9);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-9);
    }
}
