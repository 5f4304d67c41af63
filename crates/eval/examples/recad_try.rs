use remedy_data::timeseries::{AnomalyType, TsBenchmark};
use remedy_eval::recad::{RecadSettings, run};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let ds: TsBenchmark = a[1].parse().unwrap();
    let an: AnomalyType = a[2].parse().unwrap();
    let seed: u64 = a[3].parse().unwrap();
    let mut s = RecadSettings::new(ds, an, seed);
    if let Some(n) = a.get(4) {
        s.n_train = n.parse().unwrap();
    }
    if let Some(n) = a.get(5) {
        s.n_test = n.parse().unwrap();
    }
    if let Some(n) = a.get(6) {
        s.rounds = n.parse().unwrap();
    }
    if let Some(n) = a.get(7) {
        s.recad.train.epochs = n.parse().unwrap();
    }
    if let Some(n) = a.get(8) {
        s.recad.alpha = n.parse().unwrap();
    }
    if std::env::var("DETACH").is_ok() { s.recad.detach_look_ahead = true; }
    if let Ok(m) = std::env::var("LOOK") { s.recad.look_ahead = m.parse().unwrap(); }
    if let Ok(m) = std::env::var("LR") { s.recad.train.learning_rate = m.parse().unwrap(); }
    let r = run(&s, &mut remedy_nn::NoObserver).unwrap();
    println!(
        "det f1 {:.3} auroc {:.3} granger {:.3} tau {:.4} windows {} secs {:.1}",
        r.detection.f1,
        r.detection.auroc,
        r.granger_auroc,
        r.threshold,
        r.n_training_windows,
        r.seconds
    );
    for (n, m) in &r.methods {
        println!(
            "{n:6} flip {:.3} cost {:.3} raw {:.3} steps {:.2} series {} normal {:.3} {:.1}s",
            m.flip_ratio,
            m.action_cost,
            m.action_cost_raw,
            m.action_steps,
            m.abnormal_series,
            m.series_normal,
            m.seconds
        );
    }
}
