//! The components `fit` trains, as it holds them: the detector and the causal model behind
//! their traits (shared between their uses and the functions that save them), and the causal
//! model's fit on its own, so that it can run on a thread beside the detector's.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use remedy_causal::{Anm, AnmConfig, SoftCounterfactual, Vaca, VacaConfig};
use remedy_core::traits::CausalModel;
use remedy_core::{Dag, Result, Schema, seed};
use remedy_detect::{AnomalyDetector, DifferentiableDetector};
use remedy_nn::{Observer, TrainConfig};

use crate::model::{CAUSAL, CausalKind, FitConfig};

/// Writes one component into a directory.
pub(crate) type SaveFn = Box<dyn Fn(&Path) -> Result<()> + Send + Sync>;

/// Caps a component's epochs at `fit`'s `--epochs`.
pub(crate) fn cap(train: &mut TrainConfig, epochs: Option<usize>) {
    if let Some(e) = epochs {
        train.epochs = e.max(1);
        train.min_epochs = train.min_epochs.min(train.epochs);
    }
}

/// The fitted detector as used (scores, differentiable scores) and as saved.
pub(crate) type DetectorParts = (
    Box<dyn AnomalyDetector>,
    Arc<dyn DifferentiableDetector>,
    SaveFn,
);

/// A fitted causal model, before it is shared between its uses (sent from the thread that
/// fitted it).
pub(crate) enum CausalFit {
    Anm(Box<Anm>),
    Vaca(Box<Vaca>),
}

impl CausalFit {
    /// The model as used (abduction, soft counterfactuals) and as saved.
    pub(crate) fn into_parts(self) -> (Box<dyn CausalModel>, Arc<dyn SoftCounterfactual>, SaveFn) {
        fn parts<M: CausalModel + SoftCounterfactual + Send + Sync + 'static>(
            m: M,
            save: fn(&M, &Path, &str) -> Result<()>,
        ) -> (Box<dyn CausalModel>, Arc<dyn SoftCounterfactual>, SaveFn) {
            let m = Arc::new(m);
            let s = m.clone();
            (
                Box::new(SharedCausal(m.clone())),
                m,
                Box::new(move |d: &Path| save(&s, d, CAUSAL)),
            )
        }
        match self {
            CausalFit::Anm(m) => parts(*m, Anm::save),
            CausalFit::Vaca(m) => parts(*m, Vaca::save),
        }
    }
}

/// Fits the causal model `config` asks for on the training rows (early stopping on `valid`).
pub(crate) fn fit_causal(
    config: &FitConfig,
    dag: &Dag,
    schema: &Schema,
    train: &[Vec<f64>],
    valid: &[Vec<f64>],
    observer: &mut dyn Observer,
) -> Result<CausalFit> {
    let clock = Instant::now();
    let mut rng = seed::child(config.seed, "causal");
    let fitted = match config.causal {
        CausalKind::Anm => {
            let mut c = AnmConfig::default();
            cap(&mut c.train, config.epochs);
            CausalFit::Anm(Box::new(
                c.fit(dag, schema, train, valid, &mut rng, observer)?,
            ))
        }
        CausalKind::Vaca => {
            let mut c = VacaConfig::default();
            cap(&mut c.train, config.epochs);
            CausalFit::Vaca(Box::new(c.fit_threaded(
                dag,
                schema,
                train,
                valid,
                config.threads,
                &mut rng,
                observer,
            )?))
        }
    };
    tracing::info!(
        seconds = clock.elapsed().as_secs_f64(),
        "fitted the causal model"
    );
    Ok(fitted)
}

/// A shared detector, so that the fitted value is both used and saved.
pub(crate) struct SharedDetector<D>(pub(crate) Arc<D>);

impl<D: AnomalyDetector> AnomalyDetector for SharedDetector<D> {
    fn score(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
        self.0.score(rows)
    }
    fn threshold(&self) -> f64 {
        self.0.threshold()
    }
}

/// A shared causal model.
pub(crate) struct SharedCausal<M>(pub(crate) Arc<M>);

impl<M: CausalModel> CausalModel for SharedCausal<M> {
    fn node_names(&self) -> &[String] {
        self.0.node_names()
    }
    fn noise_dims(&self) -> Vec<usize> {
        self.0.noise_dims()
    }
    fn abduct_batch(&self, xs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        self.0.abduct_batch(xs)
    }
    fn noise_slack_batch(&self, xs: &[Vec<f64>]) -> Result<Option<Vec<Vec<f64>>>> {
        self.0.noise_slack_batch(xs)
    }
    fn parent_distance_batch(&self, xs: &[Vec<f64>]) -> Result<Option<Vec<Vec<f64>>>> {
        self.0.parent_distance_batch(xs)
    }
    fn predict_batch(&self, us: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        self.0.predict_batch(us)
    }
    fn counterfactual_batch(
        &self,
        xs: &[Vec<f64>],
        interventions: &[remedy_core::Intervention],
    ) -> Result<Vec<Vec<f64>>> {
        self.0.counterfactual_batch(xs, interventions)
    }
    fn abduct(&self, x: &[f64]) -> Result<Vec<f64>> {
        self.0.abduct(x)
    }
    fn predict(&self, u: &[f64]) -> Result<Vec<f64>> {
        self.0.predict(u)
    }
    fn counterfactual(&self, x: &[f64], i: &remedy_core::Intervention) -> Result<Vec<f64>> {
        self.0.counterfactual(x, i)
    }
    fn counterfactual_from_noise(
        &self,
        u: &[f64],
        i: &remedy_core::Intervention,
    ) -> Result<Vec<f64>> {
        self.0.counterfactual_from_noise(u, i)
    }
}
