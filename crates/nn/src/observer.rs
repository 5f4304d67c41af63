//! Training progress reports. Library code never prints: it calls an [`Observer`], which the
//! CLI turns into a progress bar.

/// What one epoch of training produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Maximum number of epochs.
    pub max_epochs: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Validation loss after the epoch (NaN when there is no validation set).
    pub valid_loss: f64,
    /// Whether this epoch's weights are the best so far.
    pub improved: bool,
}

/// Receives training progress.
pub trait Observer {
    /// Training of `what` starts with at most `max_epochs` epochs.
    fn start(&mut self, _what: &str, _max_epochs: usize) {}
    /// One epoch finished.
    fn epoch(&mut self, _report: &EpochReport) {}
    /// Training finished after `epochs` epochs (early stopping may end it before the maximum).
    fn finish(&mut self, _epochs: usize) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}

impl<O: Observer + ?Sized> Observer for &mut O {
    fn start(&mut self, what: &str, max_epochs: usize) {
        (**self).start(what, max_epochs);
    }
    fn epoch(&mut self, report: &EpochReport) {
        (**self).epoch(report);
    }
    fn finish(&mut self, epochs: usize) {
        (**self).finish(epochs);
    }
}
