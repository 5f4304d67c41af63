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

/// One progress event, as an [`Observer`] receives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Start { what: String, max_epochs: usize },
    Epoch(EpochReport),
    Finish { epochs: usize },
}

/// Keeps the events of a training that runs on another thread, to hand them to the caller's
/// observer once it has joined ([`Recorded::replay`]): observers need not be `Send`.
#[derive(Debug, Default, Clone)]
pub struct Recorded {
    pub events: Vec<Event>,
}

impl Observer for Recorded {
    fn start(&mut self, what: &str, max_epochs: usize) {
        self.events.push(Event::Start {
            what: what.to_string(),
            max_epochs,
        });
    }
    fn epoch(&mut self, report: &EpochReport) {
        self.events.push(Event::Epoch(*report));
    }
    fn finish(&mut self, epochs: usize) {
        self.events.push(Event::Finish { epochs });
    }
}

impl Recorded {
    /// Sends every recorded event to `to`, in order.
    pub fn replay(&self, to: &mut dyn Observer) {
        for e in &self.events {
            match e {
                Event::Start { what, max_epochs } => to.start(what, *max_epochs),
                Event::Epoch(r) => to.epoch(r),
                Event::Finish { epochs } => to.finish(*epochs),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_repeats_the_events_in_order() {
        let mut rec = Recorded::default();
        rec.start("a", 3);
        let r = EpochReport {
            epoch: 1,
            max_epochs: 3,
            train_loss: 0.5,
            valid_loss: f64::NAN,
            improved: true,
        };
        rec.epoch(&r);
        rec.finish(1);
        let mut copy = Recorded::default();
        rec.replay(&mut copy);
        assert_eq!(copy.events.len(), 3);
        assert!(matches!(&copy.events[0], Event::Start { what, max_epochs: 3 } if what == "a"));
        assert!(matches!(copy.events[1], Event::Epoch(e) if e.epoch == 1 && e.train_loss == 0.5));
        assert_eq!(copy.events[2], Event::Finish { epochs: 1 });
    }
}
