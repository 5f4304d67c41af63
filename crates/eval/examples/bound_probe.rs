use remedy_core::seed;
use remedy_data::scm::Scm;
use remedy_data::{Adult, Loan};
use remedy_eval::detection::tabular_split;
use remedy_eval::label_bound::{LabelBoundConfig, least_mean_norm};

fn probe<S: Scm>(scm: S, s: u64) {
    let split = tabular_split(&scm, s, 1000).unwrap();
    let mut scales = vec![0.0; scm.dag().len()];
    for (&n, &c) in scm.actionable().iter().zip(scm.costs()) {
        scales[n] = c;
    }
    let cfg = LabelBoundConfig::default();
    let mut rng = seed::child(s, "bound");
    let t = std::time::Instant::now();
    let (mut rc, mut all) = (vec![], vec![]);
    let idx: Vec<usize> = (0..split.test.len())
        .filter(|&i| split.labels[i])
        .take(200)
        .collect();
    for &i in &idx {
        let x = scm.complete(&split.test[i]).unwrap();
        let nodes: Vec<usize> = split.root_causes[i]
            .iter()
            .map(|&f| scm.feature_nodes()[f])
            .filter(|n| scm.actionable().contains(n))
            .collect();
        rc.push(
            cfg.least_action(&scm, &x, &nodes, &scales, &mut rng)
                .unwrap()
                .map(|a| a.norm),
        );
        all.push(
            cfg.least_action(&scm, &x, scm.actionable(), &scales, &mut rng)
                .unwrap()
                .map(|a| a.norm),
        );
    }
    for (name, v) in [("true rc", &rc), ("all", &all)] {
        let f = v.iter().flatten().count() as f64 / v.len() as f64;
        let mean = v.iter().flatten().sum::<f64>() / v.iter().flatten().count() as f64;
        println!(
            "{} seed {s} {name}: feasible {f:.3} mean norm {mean:.2} at95 {:?} at50 {:?}",
            scm.name(),
            least_mean_norm(v, 0.95),
            least_mean_norm(v, 0.5)
        );
    }
    println!("  {:.1}s for {} rows", t.elapsed().as_secs_f64(), idx.len());
}
fn main() {
    probe(Loan::new(), 1);
    probe(Adult::new(), 1);
}
