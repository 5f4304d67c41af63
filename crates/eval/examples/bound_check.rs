use remedy_core::{Intervention, seed};
use remedy_data::Adult;
use remedy_data::scm::Scm;
use remedy_eval::detection::tabular_split;
use remedy_eval::label_bound::LabelBoundConfig;

fn main() {
    let scm = Adult::new();
    let split = tabular_split(&scm, 1, 1000).unwrap();
    let mut scales = vec![0.0; scm.dag().len()];
    for (&n, &c) in scm.actionable().iter().zip(scm.costs()) {
        scales[n] = c;
    }
    let cfg = LabelBoundConfig::default();
    let mut rng = seed::child(1, "bound");
    let idx: Vec<usize> = (0..split.test.len())
        .filter(|&i| split.labels[i])
        .take(40)
        .collect();
    let mut checked = 0;
    for &i in &idx {
        let x = scm.complete(&split.test[i]).unwrap();
        let found = cfg
            .least_action(&scm, &x, scm.actionable(), &scales, &mut rng)
            .unwrap();
        let u = scm.abduct(&x).unwrap();
        // brute force grid
        let mut best: Option<f64> = None;
        let (a, e, h) = (
            scm.actionable()[0],
            scm.actionable()[1],
            scm.actionable()[2],
        );
        for ia in -85..=85 {
            for ie in -80..=80 {
                for ih in -80..=80 {
                    let s = [ia as f64 * 2.0, ie as f64 * 0.5, ih as f64];
                    let n = (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt();
                    if best.is_some_and(|b| n >= b) {
                        continue;
                    }
                    let iv = Intervention {
                        shift: vec![(a, s[0]), (e, s[1]), (h, s[2])]
                            .into_iter()
                            .filter(|p| p.1 != 0.0)
                            .collect(),
                        set: vec![],
                    };
                    let cf = scm.forward(&u, &iv);
                    if scm.is_recovered(scm.label(&cf)) {
                        best = Some(n);
                    }
                }
            }
        }
        println!(
            "row {i}: search {:?} grid {:?} x={:?}",
            found.map(|f| (f.norm * 100.0).round() / 100.0),
            best,
            x
        );
        checked += 1;
        if checked >= 12 {
            break;
        }
    }
}
