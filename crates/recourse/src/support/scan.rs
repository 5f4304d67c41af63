//! The k-th nearest reference row by a scan: every reference row's squared distance to the
//! query, summed column by column in vector registers (compiled for AVX2 where the processor
//! has it), and the k smallest kept. For a group of queries that lie close together (a
//! search's candidate actions for one row), [`Columns::near`] first drops the reference rows
//! that cannot be among any of their k nearest, so each query scans fewer.
//!
//! Every answer is the full scan's, bit for bit: a row's squared distance is always the same
//! sum of the same terms in the same order, ties go to the lower row index, and a bound is a
//! sum of terms each no larger (or no smaller) than the row's own (floating-point subtraction,
//! squaring and addition are monotone), so a row is dropped only when it provably cannot enter.

/// Reference rows whose distances to a query are summed together (in vector registers).
const LANES: usize = 8;

/// Reference rows as flat column-major blocks (one column after another): the continuous
/// columns divided by their unit, then the discrete columns as they are.
#[derive(Debug, Clone)]
pub(super) struct Columns {
    /// Rows held.
    pub n: usize,
    /// Continuous columns, `n` values each.
    pub scaled: Vec<f64>,
    /// Discrete columns, `n` values each.
    pub levels: Vec<f64>,
    /// The reference row of each position (`None`: position i is row i). Ascending, so
    /// that ties still go to the lower row.
    pub index: Option<Vec<usize>>,
}

/// Keeps row `i` among the k nearest `best` (ascending) when its squared distance `d2` is
/// below the k-th; a tie keeps the earlier row.
#[inline(always)]
fn offer(best: &mut [(usize, f64)], i: usize, d2: f64) {
    let k = best.len();
    if d2 < best[k - 1].1 {
        let mut s = k - 1;
        while s > 0 && best[s - 1].1 > d2 {
            best[s] = best[s - 1];
            s -= 1;
        }
        best[s] = (i, d2);
    }
}

impl Columns {
    /// The reference row at position `p`.
    #[inline(always)]
    fn row(&self, p: usize) -> usize {
        self.index.as_ref().map_or(p, |ix| ix[p])
    }

    /// The squared distances of positions `i..i + LANES` to the query (`xc` its scaled
    /// continuous part, `xd` its discrete part): each row's terms summed over the columns in
    /// order, then its count of discrete mismatches added; the LANES sums stay in registers
    /// while the columns go by.
    #[inline(always)]
    fn block_sums(&self, xc: &[f64], xd: &[f64], i: usize) -> [f64; LANES] {
        let n = self.n;
        let mut acc = [0.0f64; LANES];
        for (c, &v) in xc.iter().enumerate() {
            let col: &[f64; LANES] = self.scaled[c * n + i..c * n + i + LANES]
                .try_into()
                .expect("a block of LANES rows");
            for (a, &r) in acc.iter_mut().zip(col) {
                let t = v - r;
                *a += t * t;
            }
        }
        if !xd.is_empty() {
            let mut m = [0u32; LANES];
            for (c, &v) in xd.iter().enumerate() {
                let col: &[f64; LANES] = self.levels[c * n + i..c * n + i + LANES]
                    .try_into()
                    .expect("a block of LANES rows");
                for (m, &r) in m.iter_mut().zip(col) {
                    *m += u32::from(v != r);
                }
            }
            for (a, m) in acc.iter_mut().zip(m) {
                *a += f64::from(m);
            }
        }
        acc
    }

    /// [`Columns::block_sums`] for the one position `i`.
    #[inline(always)]
    fn row_sum(&self, xc: &[f64], xd: &[f64], i: usize) -> f64 {
        let n = self.n;
        let mut d2 = 0.0f64;
        for (c, &v) in xc.iter().enumerate() {
            let t = v - self.scaled[c * n + i];
            d2 += t * t;
        }
        if !xd.is_empty() {
            let m: u32 = xd
                .iter()
                .enumerate()
                .map(|(c, &v)| u32::from(v != self.levels[c * n + i]))
                .sum();
            d2 += f64::from(m);
        }
        d2
    }

    /// The reference row k-th nearest to the query and its squared distance (`None` when
    /// fewer than k rows have one). With `within`, possibly an earlier k-th nearest of the
    /// rows scanned so far, once its distance is at most `within`.
    pub(super) fn kth(
        &self,
        xc: &[f64],
        xd: &[f64],
        k: usize,
        within: Option<f64>,
    ) -> Option<(usize, f64)> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above.
            return unsafe { self.scan_avx2(xc, xd, k, within) };
        }
        self.scan(xc, xd, k, within)
    }

    /// [`Columns::scan`] compiled for AVX2's wider vectors. Only AVX2, not FMA: the sums round
    /// exactly as the plain build's (Rust never fuses a product into a sum), so the answer is
    /// the same on every x86-64 processor.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn scan_avx2(
        &self,
        xc: &[f64],
        xd: &[f64],
        k: usize,
        within: Option<f64>,
    ) -> Option<(usize, f64)> {
        self.scan(xc, xd, k, within)
    }

    /// [`Columns::kth`] in the plain build.
    #[inline(always)]
    pub(super) fn scan(
        &self,
        xc: &[f64],
        xd: &[f64],
        k: usize,
        within: Option<f64>,
    ) -> Option<(usize, f64)> {
        let n = self.n;
        // The k smallest squared distances, ascending, with their rows.
        let mut best = vec![(usize::MAX, f64::INFINITY); k];
        let whole = n - n % LANES;
        for i in (0..whole).step_by(LANES) {
            let acc = self.block_sums(xc, xd, i);
            if acc.iter().any(|&d2| d2 < best[k - 1].1) {
                for (lane, &d2) in acc.iter().enumerate() {
                    offer(&mut best, self.row(i + lane), d2);
                }
                // The k-th distance only falls as rows are added: once within the radius
                // asked, the rest cannot take it back out.
                if within.is_some_and(|r| best[k - 1].1.sqrt() <= r) {
                    return Some(best[k - 1]);
                }
            }
        }
        for i in whole..n {
            offer(&mut best, self.row(i), self.row_sum(xc, xd, i));
        }
        Some(best[k - 1]).filter(|&(i, _)| i != usize::MAX)
    }

    /// The rows that can be among the k nearest of some query of the group (`xcs`/`xds` their
    /// scaled continuous and discrete parts, all finite), in the same order. Over the group's
    /// bounding box each row's distance lies between a lower bound (to the nearest point of
    /// the box; a discrete column counts a mismatch only where every query has the same
    /// level, which the row lacks) and an upper bound (to the farthest corner; a mismatch
    /// wherever the queries differ or the row lacks their shared level). No query's k-th
    /// distance exceeds the k-th smallest upper bound U, so a row whose lower bound exceeds U
    /// is never among any query's k nearest, nor tied with its k-th.
    pub(super) fn near(&self, xcs: &[&[f64]], xds: &[&[f64]], k: usize) -> Columns {
        let n = self.n;
        let nc = xcs.first().map_or(0, |x| x.len());
        let nd = xds.first().map_or(0, |x| x.len());
        let mut lower = vec![0.0f64; n];
        let mut upper = vec![0.0f64; n];
        for c in 0..nc {
            let lo = xcs.iter().map(|x| x[c]).fold(f64::INFINITY, f64::min);
            let hi = xcs.iter().map(|x| x[c]).fold(f64::NEG_INFINITY, f64::max);
            let col = &self.scaled[c * n..(c + 1) * n];
            for ((l, u), &r) in lower.iter_mut().zip(upper.iter_mut()).zip(col) {
                let t = if r < lo {
                    lo - r
                } else if r > hi {
                    r - hi
                } else {
                    0.0
                };
                *l += t * t;
                let far = (lo - r).abs().max((hi - r).abs());
                *u += far * far;
            }
        }
        if nd > 0 {
            let shared: Vec<Option<f64>> = (0..nd)
                .map(|c| {
                    let v = xds[0][c];
                    xds.iter().all(|x| x[c] == v).then_some(v)
                })
                .collect();
            for i in 0..n {
                let (mut ml, mut mu) = (0u32, 0u32);
                for (c, s) in shared.iter().enumerate() {
                    let r = self.levels[c * n + i];
                    match s {
                        Some(v) if *v != r => {
                            ml += 1;
                            mu += 1;
                        }
                        Some(_) => {}
                        None => mu += 1,
                    }
                }
                lower[i] += f64::from(ml);
                upper[i] += f64::from(mu);
            }
        }
        let mut sorted = upper;
        let bound = if n >= k {
            *sorted.select_nth_unstable_by(k - 1, f64::total_cmp).1
        } else {
            f64::INFINITY
        };
        // Kept unless provably farther (a NaN bound keeps the row).
        let keep: Vec<usize> = (0..n)
            .filter(|&i| lower[i].partial_cmp(&bound) != Some(std::cmp::Ordering::Greater))
            .collect();
        let gather = |cols: &[f64], width: usize| -> Vec<f64> {
            (0..width)
                .flat_map(|c| keep.iter().map(move |&i| cols[c * n + i]))
                .collect()
        };
        Columns {
            n: keep.len(),
            scaled: gather(&self.scaled, nc),
            levels: gather(&self.levels, nd),
            index: Some(keep.iter().map(|&p| self.row(p)).collect()),
        }
    }
}
