//! The training loop: shuffled minibatches from our seeded generator, Adam (with PyTorch's
//! defaults: betas 0.9/0.999, ε 1e-8, L2 weight decay added to the gradient; optional
//! exponential learning-rate decay per epoch), validation after
//! every epoch, the best-validation weights kept, and early stopping after `patience` epochs
//! without improvement. [`fit_sharded`] computes each minibatch's gradient in parts, side by
//! side on several threads, with the same bits for any number of threads.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use rand::Rng;
use rand::seq::SliceRandom;
use remedy_core::seed::{self, RemedyRng};
use serde::{Deserialize, Serialize};

use crate::observer::{EpochReport, Observer};

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Minibatch size (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// L2 weight decay added to the gradient (PyTorch `Adam(weight_decay=…)`).
    pub weight_decay: f64,
    /// Stop after this many epochs without a better validation loss; `None` runs all epochs.
    pub patience: Option<usize>,
    /// Never stop before this many epochs.
    pub min_epochs: usize,
    /// The learning rate is multiplied by this after every epoch (PyTorch `ExponentialLR`);
    /// 1 keeps it constant.
    #[serde(default = "one")]
    pub lr_decay: f64,
    /// Least relative improvement of the validation loss that restarts the patience count:
    /// an epoch whose loss beats the last such epoch's by less than this share of it does not
    /// (Keras' `min_delta`, relative here so that one value serves losses of any scale). The
    /// best epoch's weights are kept either way. 0 (the default) restarts it on any
    /// improvement.
    #[serde(default)]
    pub min_delta: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 100,
            batch_size: 1024,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            patience: Some(20),
            min_epochs: 1,
            lr_decay: 1.0,
            min_delta: 0.0,
        }
    }
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Epochs actually run.
    pub epochs_run: usize,
    /// 1-based epoch whose weights were kept.
    pub best_epoch: usize,
    /// Validation loss of the kept weights (NaN when no epoch was validated).
    #[serde(with = "nan_as_null")]
    pub best_valid_loss: f64,
    /// Mean training loss per epoch.
    #[serde(with = "nan_as_null::vec")]
    pub train_loss: Vec<f64>,
    /// Validation loss per epoch (NaN where not validated).
    #[serde(with = "nan_as_null::vec")]
    pub valid_loss: Vec<f64>,
}

/// JSON has no NaN: write it as `null` and read `null` back as NaN.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        v.is_finite().then_some(*v).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    pub mod vec {
        use super::*;

        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            let o: Vec<Option<f64>> = v.iter().map(|x| x.is_finite().then_some(*x)).collect();
            o.serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Ok(Vec::<Option<f64>>::deserialize(d)?
                .into_iter()
                .map(|x| x.unwrap_or(f64::NAN))
                .collect())
        }
    }
}

/// Adam as [`TrainConfig`] asks (PyTorch's defaults otherwise).
fn adam(config: &TrainConfig) -> AdamConfig {
    let adam = AdamConfig::new().with_epsilon(1e-8);
    if config.weight_decay > 0.0 {
        adam.with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32)))
    } else {
        adam
    }
}

/// Trains `model` (on an autodiff device) over `n_train` examples.
///
/// `batch_loss(model, indices, rng)` returns the scalar loss of a minibatch (the `rng` serves
/// dropout); `valid_loss(model)` returns the validation loss after an epoch (lower is better;
/// return NaN when there is no validation set: then the last weights are kept). `on_epoch` runs
/// after each optimiser epoch and before validation (e.g. Deep SVDD's centre update).
#[allow(clippy::too_many_arguments)]
pub fn fit<M, R, L, V, E>(
    model: M,
    n_train: usize,
    config: &TrainConfig,
    rng: &mut R,
    observer: &mut dyn Observer,
    what: &str,
    mut batch_loss: L,
    valid_loss: V,
    on_epoch: E,
) -> (M, TrainReport)
where
    M: Module + Clone,
    R: Rng + ?Sized,
    L: FnMut(&M, &[usize], &mut R) -> Tensor<1>,
    V: FnMut(&M) -> f64,
    E: FnMut(&mut M, usize),
{
    let mut optim = adam(config).init();
    epochs(
        model,
        n_train,
        config,
        rng,
        observer,
        what,
        |model: M, chunk: &[usize], rng: &mut R, lr: f64| {
            let loss = batch_loss(&model, chunk, rng);
            let sum = crate::tensor::scalar(loss.clone()) * chunk.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            (optim.step(lr, model, grads), sum)
        },
        valid_loss,
        on_epoch,
    )
}

/// How [`fit_sharded`] computes a minibatch's gradient: in `parts` contiguous parts of the
/// batch, on up to `threads` threads. The weights depend on `parts`, never on `threads`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shards {
    pub parts: usize,
    pub threads: usize,
}

/// [`fit`] with each minibatch's gradient computed in [`Shards::parts`] parts, side by side:
/// each part's loss (its mean, weighted by its share of the batch) is differentiated on a copy
/// of the model with an autodiff graph of its own ([`Module::fork`]), and the parts' gradients
/// are summed in part order before one optimiser step. That is the whole batch's gradient up to
/// rounding, and the same bits for any number of threads. Each part's dropout draws from a
/// generator seeded from `rng`, one per part in order. `batch_loss` is shared by the threads.
#[allow(clippy::too_many_arguments)]
pub fn fit_sharded<M, R, L, V, E>(
    model: M,
    n_train: usize,
    config: &TrainConfig,
    shards: Shards,
    device: &Device,
    rng: &mut R,
    observer: &mut dyn Observer,
    what: &str,
    batch_loss: L,
    valid_loss: V,
    on_epoch: E,
) -> (M, TrainReport)
where
    M: Module + Clone + Send,
    R: Rng + ?Sized,
    L: Fn(&M, &[usize], &mut RemedyRng) -> Tensor<1> + Sync,
    V: FnMut(&M) -> f64,
    E: FnMut(&mut M, usize),
{
    let mut optim = adam(config).init();
    let parts = shards.parts.max(1);
    let part = |model: M, rows: &[usize], seed: u64, share: f64| {
        let m = model.fork(device);
        let loss = batch_loss(&m, rows, &mut seed::rng(seed)).mul_scalar(share);
        let value = crate::tensor::scalar(loss.clone());
        (value, GradientsParams::from_grads(loss.backward(), &m))
    };
    epochs(
        model,
        n_train,
        config,
        rng,
        observer,
        what,
        |model: M, chunk: &[usize], rng: &mut R, lr: f64| {
            let size = chunk.len().div_ceil(parts).max(1);
            let work: Vec<(M, &[usize], u64)> = chunk
                .chunks(size)
                .map(|rows| (model.clone(), rows, rng.random::<u64>()))
                .collect();
            let n = chunk.len() as f64;
            let done = in_parts(work, shards.threads, |(m, rows, s)| {
                part(m, rows, s, rows.len() as f64 / n)
            });
            let (values, mut grads): (Vec<f64>, Vec<GradientsParams>) = done.into_iter().unzip();
            let mut sum = GradientsParams::new();
            model.visit(&mut SumGrads {
                parts: &mut grads,
                out: &mut sum,
            });
            let loss: f64 = values.iter().sum();
            (optim.step(lr, model, sum), loss * n)
        },
        valid_loss,
        on_epoch,
    )
}

/// `work` done on up to `threads` threads (this one included), the results in `work`'s order.
pub fn in_parts<W: Send, T: Send>(
    work: Vec<W>,
    threads: usize,
    f: impl Fn(W) -> T + Sync,
) -> Vec<T> {
    let threads = threads.clamp(1, work.len().max(1));
    if threads == 1 {
        return work.into_iter().map(f).collect();
    }
    let mut lanes: Vec<Vec<(usize, W)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, w) in work.into_iter().enumerate() {
        lanes[i % threads].push((i, w));
    }
    let f = &f;
    let mut out: Vec<(usize, T)> = std::thread::scope(|scope| {
        let mut lanes = lanes.into_iter();
        let mine = lanes.next().unwrap_or_default();
        let handles: Vec<_> = lanes
            .map(|lane| {
                scope.spawn(move || lane.into_iter().map(|(i, w)| (i, f(w))).collect::<Vec<_>>())
            })
            .collect();
        let mut out: Vec<(usize, T)> = mine.into_iter().map(|(i, w)| (i, f(w))).collect();
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        out
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

/// Sums the parts' gradients of every float parameter, in part order.
struct SumGrads<'a> {
    parts: &'a mut [GradientsParams],
    out: &'a mut GradientsParams,
}

impl ModuleVisitor for SumGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let mut acc: Option<Tensor<D>> = None;
        for g in self.parts.iter_mut() {
            if let Some(t) = g.remove::<D>(param.id) {
                acc = Some(match acc {
                    Some(a) => a + t,
                    None => t,
                });
            }
        }
        if let Some(a) = acc {
            self.out.register(param.id, a);
        }
    }
}

/// The epoch loop of [`fit`] and [`fit_sharded`]: `step(model, batch, rng, lr)` takes one
/// optimiser step on a minibatch and returns the model and the batch's loss times its rows.
#[allow(clippy::too_many_arguments)]
fn epochs<M, R, S, V, E>(
    mut model: M,
    n_train: usize,
    config: &TrainConfig,
    rng: &mut R,
    observer: &mut dyn Observer,
    what: &str,
    mut step: S,
    mut valid_loss: V,
    mut on_epoch: E,
) -> (M, TrainReport)
where
    M: Module + Clone,
    R: Rng + ?Sized,
    S: FnMut(M, &[usize], &mut R, f64) -> (M, f64),
    V: FnMut(&M) -> f64,
    E: FnMut(&mut M, usize),
{
    let mut order: Vec<usize> = (0..n_train).collect();
    let mut best: Option<(M, usize, f64)> = None;
    // The last epoch that improved by at least `min_delta`, and its loss: patience counts
    // from it.
    let mut marked: Option<(usize, f64)> = None;
    let mut report = TrainReport {
        epochs_run: 0,
        best_epoch: 0,
        best_valid_loss: f64::NAN,
        train_loss: Vec::new(),
        valid_loss: Vec::new(),
    };
    observer.start(what, config.epochs);
    let batch = config.batch_size.max(1);
    let mut lr = config.learning_rate;
    for epoch in 1..=config.epochs {
        order.shuffle(rng);
        let (mut sum, mut count) = (0.0, 0usize);
        for chunk in order.chunks(batch) {
            let (next, loss) = step(model, chunk, rng, lr);
            model = next;
            sum += loss;
            count += chunk.len();
        }
        lr *= config.lr_decay;
        on_epoch(&mut model, epoch);
        let train = sum / count.max(1) as f64;
        let valid = valid_loss(&model);
        let improved = valid.is_finite() && best.as_ref().is_none_or(|(_, _, b)| valid < *b);
        if improved {
            best = Some((model.clone(), epoch, valid));
            if marked.is_none_or(|(_, m)| valid < m - config.min_delta * m.abs()) {
                marked = Some((epoch, valid));
            }
        }
        report.epochs_run = epoch;
        report.train_loss.push(train);
        report.valid_loss.push(valid);
        observer.epoch(&EpochReport {
            epoch,
            max_epochs: config.epochs,
            train_loss: train,
            valid_loss: valid,
            improved,
        });
        tracing::debug!(what, epoch, train, valid, improved, "epoch");
        if let (Some(p), Some((b, _))) = (config.patience, marked)
            && epoch >= config.min_epochs
            && epoch - b >= p
        {
            break;
        }
    }
    observer.finish(report.epochs_run);
    match best {
        Some((m, e, v)) => {
            report.best_epoch = e;
            report.best_valid_loss = v;
            (m, report)
        }
        None => {
            report.best_epoch = report.epochs_run;
            (model, report)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MlpConfig, NoObserver, autodiff, cpu, tensor};
    use remedy_core::seed;

    /// A linear regression y = 2x − 1 is learnt, and the same seed gives the same weights.
    #[test]
    fn learns_a_line_reproducibly() {
        let run = |s: u64| {
            let device = autodiff(&cpu());
            let mut rng = seed::rng(s);
            let model = MlpConfig::relu(&[1, 1]).init(&mut rng, &device);
            let xs: Vec<f32> = (0..256).map(|i| i as f32 / 128.0 - 1.0).collect();
            let ys: Vec<f32> = xs.iter().map(|x| 2.0 * x - 1.0).collect();
            let cfg = TrainConfig {
                epochs: 300,
                batch_size: 64,
                learning_rate: 0.05,
                patience: None,
                ..TrainConfig::default()
            };
            let (m, rep) = fit(
                model,
                xs.len(),
                &cfg,
                &mut rng,
                &mut NoObserver,
                "line",
                |m: &crate::Mlp, idx: &[usize], _r: &mut seed::RemedyRng| {
                    let x = tensor::gather_rows(&xs, 1, idx, &device);
                    let y = tensor::gather_rows(&ys, 1, idx, &device);
                    (m.forward(x) - y).powf_scalar(2.0).mean()
                },
                |_m: &crate::Mlp| f64::NAN,
                |_m: &mut crate::Mlp, _e| {},
            );
            assert_eq!(rep.epochs_run, 300);
            (
                tensor::to_flat(m.layers[0].weight.val()),
                rep.train_loss.last().copied().unwrap(),
            )
        };
        let (w1, loss) = run(4);
        assert!((w1[0] - 2.0).abs() < 0.01, "{w1:?}");
        assert!(loss < 1e-4, "{loss}");
        assert_eq!(run(4).0, w1, "same seed, same bits");
    }

    /// A small regression with dropout, trained by [`fit_sharded`]: its weights (all layers,
    /// flattened) after `epochs` epochs of batch 64.
    fn sharded(parts: usize, threads: usize, epochs: usize, dropout: f32) -> Vec<f32> {
        let device = autodiff(&cpu());
        let mut rng = seed::rng(11);
        let mut cfg = MlpConfig::relu(&[2, 16, 1]);
        cfg.dropout = vec![0.0, dropout];
        let model = cfg.init(&mut rng, &device);
        let xs: Vec<f32> = (0..256)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let ys: Vec<f32> = xs.chunks(2).map(|p| p[0] * p[0] - p[1]).collect();
        let config = TrainConfig {
            epochs,
            batch_size: 64,
            learning_rate: 0.01,
            patience: None,
            ..TrainConfig::default()
        };
        let loss = |m: &crate::Mlp, idx: &[usize], r: &mut seed::RemedyRng| {
            let x = tensor::gather_rows(&xs, 2, idx, &device);
            let y = tensor::gather_rows(&ys, 1, idx, &device);
            (m.forward_train(x, r) - y).powf_scalar(2.0).mean()
        };
        let (m, _) = fit_sharded(
            model,
            ys.len(),
            &config,
            Shards { parts, threads },
            &device,
            &mut rng,
            &mut NoObserver,
            "sharded",
            loss,
            |_m: &crate::Mlp| f64::NAN,
            |_m: &mut crate::Mlp, _e| {},
        );
        m.layers
            .iter()
            .flat_map(|l| tensor::to_flat(l.weight.val()))
            .collect()
    }

    /// The parts' gradients sum to the whole batch's: one step in one part and in three agree
    /// to rounding (no dropout, so the parts' generators do not matter).
    #[test]
    fn parts_of_a_batch_give_its_gradient() {
        let whole = sharded(1, 1, 1, 0.0);
        let thirds = sharded(3, 1, 1, 0.0);
        assert_ne!(whole, sharded(1, 1, 0, 0.0), "one step moved the weights");
        for (a, b) in whole.iter().zip(&thirds) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "{a} vs {b}");
        }
    }

    /// Same parts, same bits, on one thread or several (dropout drawn per part).
    #[test]
    fn sharded_weights_do_not_depend_on_the_threads() {
        let one = sharded(4, 1, 5, 0.2);
        assert_eq!(sharded(4, 2, 5, 0.2), one);
        assert_eq!(sharded(4, 3, 5, 0.2), one);
        assert_eq!(sharded(4, 8, 5, 0.2), one);
        assert_ne!(
            sharded(2, 2, 5, 0.2),
            one,
            "the parts are part of the model"
        );
    }

    /// A report with unvalidated epochs survives a JSON round trip.
    #[test]
    fn report_with_nan_round_trips() {
        let r = TrainReport {
            epochs_run: 2,
            best_epoch: 2,
            best_valid_loss: f64::NAN,
            train_loss: vec![1.0, 0.5],
            valid_loss: vec![f64::NAN, 0.25],
        };
        let text = serde_json::to_string(&r).unwrap();
        let back: TrainReport = serde_json::from_str(&text).unwrap();
        assert!(back.best_valid_loss.is_nan() && back.valid_loss[0].is_nan());
        assert_eq!(back.valid_loss[1], 0.25);
        assert_eq!(back.train_loss, r.train_loss);
    }

    /// Trains a 1-1 network for at most 50 epochs with patience 3 and `min_delta`, the
    /// validation loss of epoch e (1-based) being `valid(e)`.
    fn with_validation(min_delta: f64, valid: impl Fn(usize) -> f64) -> TrainReport {
        let device = autodiff(&cpu());
        let mut rng = seed::rng(1);
        let model = MlpConfig::relu(&[1, 1]).init(&mut rng, &device);
        let cfg = TrainConfig {
            epochs: 50,
            batch_size: 4,
            learning_rate: 0.01,
            patience: Some(3),
            min_delta,
            ..TrainConfig::default()
        };
        let mut e = 0usize;
        let (_m, rep) = fit(
            model,
            8,
            &cfg,
            &mut rng,
            &mut NoObserver,
            "t",
            |m: &crate::Mlp, idx: &[usize], _r: &mut seed::RemedyRng| {
                m.forward(Tensor::<2>::ones([idx.len(), 1], &device)).mean()
            },
            |_m: &crate::Mlp| {
                e += 1;
                valid(e)
            },
            |_m: &mut crate::Mlp, _e| {},
        );
        rep
    }

    /// Early stopping keeps the best-validation weights.
    #[test]
    fn early_stopping_keeps_the_best_epoch() {
        // A validation loss that bottoms out at epoch 5.
        let rep = with_validation(0.0, |e| (e as f64 - 5.0).abs());
        assert_eq!(rep.best_epoch, 5);
        assert_eq!(rep.epochs_run, 8);
        assert_eq!(rep.best_valid_loss, 0.0);
    }

    /// With a relative `min_delta`, improvements smaller than it keep the best weights but do
    /// not restart the patience count; without it, every improvement does.
    #[test]
    fn min_delta_stops_on_a_creeping_validation_loss() {
        // 10 at epoch 1, then 9, 8, ..., 5 at epoch 6 (10% steps and more), then 0.1% steps
        // down: 4.995, 4.99, ...
        let creeping = |e: usize| {
            if e <= 6 {
                11.0 - e as f64
            } else {
                5.0 - 0.005 * (e - 6) as f64
            }
        };
        let strict = with_validation(0.0, creeping);
        assert_eq!((strict.epochs_run, strict.best_epoch), (50, 50));
        // 1%: epoch 6 is the last to count; three more epochs, the best of which is kept.
        let relative = with_validation(0.01, creeping);
        assert_eq!((relative.epochs_run, relative.best_epoch), (9, 9));
        assert!((relative.best_valid_loss - 4.985).abs() < 1e-12);
    }
}
