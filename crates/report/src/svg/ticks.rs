//! Axis ticks: "nice" linear ticks (steps of 1, 2 or 5 × 10^k) and decade ticks for log axes,
//! with their labels. The tick values are the nearest `f64` to the decimal numbers they stand
//! for (0.2 is `0.2`, not `0.20000000000000004`), so labels and tests stay exact.

/// `10^e` as the nearest `f64` (parsed from its decimal form, so `pow10(-5) == 1e-5` exactly).
pub(crate) fn pow10(e: i32) -> f64 {
    format!("1e{e}").parse().unwrap_or(f64::NAN)
}

/// The value `n × 10^e`, correctly rounded (both factors are exact, so one rounding).
fn scaled(n: f64, e: i32) -> f64 {
    let v = if e >= 0 { n * pow10(e) } else { n / pow10(-e) };
    if v == 0.0 { 0.0 } else { v }
}

/// A nice step for about `target` intervals over `span`: `(mantissa, exponent)` with the
/// mantissa 1, 2 or 5.
fn nice_step(span: f64, target: usize) -> Option<(f64, i32)> {
    let raw = span / target.clamp(1, 50) as f64;
    if !(raw > 0.0 && raw.is_finite()) {
        return None;
    }
    let e = raw.log10().floor() as i32;
    if !(-300..=300).contains(&e) {
        return None;
    }
    let norm = raw / pow10(e);
    Some(if norm < 1.5 {
        (1.0, e)
    } else if norm < 3.0 {
        (2.0, e)
    } else if norm < 7.0 {
        (5.0, e)
    } else {
        (1.0, e + 1)
    })
}

/// Linear ticks inside `[lo, hi]` (the bounds may come in either order) at multiples of a nice
/// step chosen for about `target` intervals: `nice_ticks(0.0, 0.93, 5)` is
/// `[0.0, 0.2, 0.4, 0.6, 0.8]`. Empty for a non-finite bound; a single tick when `lo == hi`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() {
        return Vec::new();
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if lo == hi {
        return vec![if lo == 0.0 { 0.0 } else { lo }];
    }
    let Some((m, e)) = nice_step(hi - lo, target) else {
        return Vec::new();
    };
    let step = scaled(m, e);
    let k0 = (lo / step - 1e-9).ceil();
    let k1 = (hi / step + 1e-9).floor();
    if !(k0.is_finite() && k1.is_finite()) || k1 - k0 > 1000.0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut k = k0;
    while k <= k1 {
        out.push(scaled(k * m, e));
        k += 1.0;
    }
    out
}

/// The step between consecutive linear ticks (for choosing how many decimals to print).
pub(crate) fn tick_step(ticks: &[f64]) -> f64 {
    match ticks {
        [a, b, ..] => (b - a).abs(),
        [a] if *a != 0.0 => a.abs(),
        _ => 1.0,
    }
}

/// Ticks for a log axis over `[lo, hi]` (both > 0): the powers of ten inside the range
/// (every second or fifth decade when there are many), so `log_ticks(1e-5, 1.0)` is
/// `[1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]`. Less than a decade wide, the range gets linear nice
/// ticks instead. Empty when a bound is not positive and finite.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if !(lo > 0.0 && hi.is_finite()) {
        return Vec::new();
    }
    let k0 = (lo.log10() - 1e-9).ceil() as i32;
    let k1 = (hi.log10() + 1e-9).floor() as i32;
    if k1 < k0 || (k1 == k0 && hi / lo < 5.0) {
        return nice_ticks(lo, hi, 4);
    }
    let count = (k1 - k0 + 1) as usize;
    let stride = if count <= 9 {
        1
    } else if count <= 18 {
        2
    } else {
        count.div_ceil(8)
    } as i32;
    (k0..=k1)
        .filter(|k| (k - k0) % stride == 0)
        .map(pow10)
        .collect()
}

/// True when `v` is an exact power of ten (as produced by [`log_ticks`]).
fn decade_of(v: f64) -> Option<i32> {
    if !(v > 0.0 && v.is_finite()) {
        return None;
    }
    let k = v.log10().round() as i32;
    (pow10(k) == v).then_some(k)
}

/// Label of a linear tick `v` on an axis whose ticks are `step` apart: as many decimals as the
/// step needs, scientific notation for very large or very small magnitudes.
pub fn format_tick(v: f64, step: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let mag = v.abs().max(step.abs());
    if mag >= 1e6 || step.abs() < 1e-4 {
        return format!("{v:e}");
    }
    let decimals = if step > 0.0 && step.is_finite() {
        (-(step.log10() + 1e-9).floor()).clamp(0.0, 10.0) as usize
    } else {
        3
    };
    format!("{v:.decimals$}")
}

/// A value with about three significant digits, trailing zeros dropped (bar values, tooltips).
pub(crate) fn short_number(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    if v.abs() >= 1e6 || v.abs() < 1e-3 {
        return format!("{v:.2e}");
    }
    let decimals = (2.0 - v.abs().log10().floor()).clamp(0.0, 6.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Label of a log-axis tick: a power of ten as `10⁻⁵`, `10⁰`, `10³`; other values as linear
/// labels.
pub fn format_log_tick(v: f64) -> String {
    match decade_of(v) {
        Some(k) => format!("10{}", superscript(k)),
        None => short_number(v),
    }
}

/// Labels of log-axis ticks: plain decimals when every tick is a power of ten between 0.01 and
/// 1000, powers of ten (`10⁻⁵`) when any is outside, linear labels when not all are decades.
pub(crate) fn log_tick_labels(ticks: &[f64]) -> Vec<String> {
    let decades: Option<Vec<i32>> = ticks.iter().map(|&v| decade_of(v)).collect();
    match decades {
        Some(ks) if ks.iter().all(|k| (-2..=3).contains(k)) => {
            ticks.iter().map(|v| format!("{v}")).collect()
        }
        Some(_) => ticks.iter().map(|&v| format_log_tick(v)).collect(),
        None => {
            let step = tick_step(ticks);
            ticks.iter().map(|&v| format_tick(v, step)).collect()
        }
    }
}

fn superscript(k: i32) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::new();
    if k < 0 {
        s.push('⁻');
    }
    for c in k.unsigned_abs().to_string().chars() {
        if let Some(d) = c.to_digit(10) {
            s.push(DIGITS[d as usize]);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_linear_ticks() {
        assert_eq!(nice_ticks(0.0, 0.93, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8]);
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(nice_ticks(-1.0, 1.0, 4), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(nice_ticks(3.0, 97.0, 5), vec![20.0, 40.0, 60.0, 80.0]);
        assert_eq!(nice_ticks(0.93, 0.0, 5), nice_ticks(0.0, 0.93, 5));
        assert_eq!(
            nice_ticks(0.0, 0.001, 5),
            vec![0.0, 0.0002, 0.0004, 0.0006, 0.0008, 0.001]
        );
        assert_eq!(nice_ticks(2.5, 2.5, 5), vec![2.5]);
        assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
        assert!(nice_ticks(0.0, f64::INFINITY, 5).is_empty());
    }

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        for (lo, hi) in [(0.0, 7.3), (-3.2, 41.0), (1e-7, 3e-7), (100.0, 12345.0)] {
            let t = nice_ticks(lo, hi, 5);
            assert!(t.len() >= 2, "{lo}..{hi}: {t:?}");
            let step = t[1] - t[0];
            let e = step.log10().floor();
            let m = (step / 10f64.powf(e)).round();
            assert!(
                [1.0, 2.0, 5.0, 10.0].contains(&m),
                "{lo}..{hi}: step {step}"
            );
            assert!(t.iter().all(|&v| v >= lo - 1e-12 && v <= hi + 1e-12));
        }
    }

    #[test]
    fn log_ticks_at_decades() {
        assert_eq!(log_ticks(1e-5, 1.0), vec![1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]);
        assert_eq!(log_ticks(0.5, 2000.0), vec![1.0, 10.0, 100.0, 1000.0]);
        assert!(log_ticks(0.0, 1.0).is_empty());
        assert!(log_ticks(-1.0, 1.0).is_empty());
        assert!(log_ticks(1e-20, 1e20).len() <= 9);
    }

    #[test]
    fn labels() {
        assert_eq!(format_tick(0.2, 0.2), "0.2");
        assert_eq!(format_tick(0.0, 0.2), "0");
        assert_eq!(format_tick(40.0, 20.0), "40");
        assert_eq!(format_tick(0.25, 0.05), "0.25");
        assert_eq!(format_tick(2e-5, 1e-5), "2e-5");
        assert_eq!(format_log_tick(1e-5), "10⁻⁵");
        assert_eq!(format_log_tick(0.1), "10⁻¹");
        assert_eq!(format_log_tick(1.0), "10⁰");
        assert_eq!(format_log_tick(0.5), "0.5");
        assert_eq!(
            log_tick_labels(&[0.01, 0.1, 1.0, 10.0]),
            ["0.01", "0.1", "1", "10"]
        );
        assert_eq!(
            log_tick_labels(&[1e-3, 1e-2, 0.1, 1.0]),
            ["10⁻³", "10⁻²", "10⁻¹", "10⁰"]
        );
        assert_eq!(log_tick_labels(&[2.0, 4.0]), ["2", "4"]);
        assert_eq!(format_log_tick(1e4), "10⁴");
        assert_eq!(short_number(0.35), "0.35");
        assert_eq!(short_number(12.0), "12");
        assert_eq!(short_number(123.456), "123");
        assert_eq!(short_number(-0.0123), "-0.0123");
    }
}
