//! Turns training progress into an `indicatif` bar on stderr, hidden when stderr is not a
//! terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use remedy_nn::{EpochReport, Observer};

/// A progress bar per training run.
#[derive(Default)]
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Observer for Bar {
    fn start(&mut self, what: &str, max_epochs: usize) {
        let bar =
            ProgressBar::with_draw_target(Some(max_epochs as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {pos}/{len} epochs {msg} ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(what.to_string());
        self.bar = Some(bar);
    }

    fn epoch(&mut self, r: &EpochReport) {
        if let Some(b) = &self.bar {
            b.set_position(r.epoch as u64);
            if r.valid_loss.is_finite() {
                b.set_message(format!(
                    "train {:.4} valid {:.4}",
                    r.train_loss, r.valid_loss
                ));
            } else {
                b.set_message(format!("train {:.4}", r.train_loss));
            }
        }
    }

    fn finish(&mut self, _epochs: usize) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
