use remedy_core::{Intervention, seed};
use remedy_data::scm::Scm;
use remedy_data::{Adult, Loan};
use remedy_eval::label_bound::{LabelBoundConfig, least_mean_norm};

fn probe<S: Scm>(scm: S) {
    let mut rng = seed::child(1, "g0");
    let mut scales = vec![0.0; scm.dag().len()];
    for (&n, &c) in scm.actionable().iter().zip(scm.costs()) {
        scales[n] = c;
    }
    let g0 = scm.anomaly_groups()[0].clone();
    let cfg = LabelBoundConfig::default();
    let (mut rc, mut all) = (vec![], vec![]);
    while rc.len() < 200 {
        let u = scm.sample_noise(&mut rng, &g0);
        let x = scm.forward(&u, &Intervention::default());
        if !scm.is_anomalous(scm.label(&x)) {
            continue;
        }
        rc.push(
            cfg.least_action(&scm, &x, &g0, &scales, &mut rng)
                .unwrap()
                .map(|a| a.norm),
        );
        all.push(
            cfg.least_action(&scm, &x, scm.actionable(), &scales, &mut rng)
                .unwrap()
                .map(|a| a.norm),
        );
    }
    for (name, v) in [("group0 rc", &rc), ("all", &all)] {
        let f = v.iter().flatten().count() as f64 / v.len() as f64;
        let mean = v.iter().flatten().sum::<f64>() / v.iter().flatten().count() as f64;
        println!(
            "{} {name}: feasible {f:.3} mean {mean:.2} at95 {:?} at84 {:?}",
            scm.name(),
            least_mean_norm(v, 0.95),
            least_mean_norm(v, 0.839)
        );
    }
}
fn main() {
    probe(Loan::new());
    probe(Adult::new());
}
