//! The neural-network layer of Remedy, the only crate that touches burn. It offers dense
//! networks whose weights are drawn from our own seeded generator, dropout masks from the same
//! generator, a minibatch Adam training loop with early stopping on validation loss and a
//! progress [`Observer`], conversions between `f64` rows and tensors, and weight files
//! (safetensors plus a checksum) that load back bit-identically.

pub mod dense;
pub mod gvar;
pub mod lstm;
pub mod observer;
pub mod store;
pub mod supervised;
pub mod tensor;
pub mod train;
pub mod vaca;
pub mod vae;

pub use burn::module::Module;
pub use burn::tensor::{Device, Tensor};
pub use dense::{Activation, Dense, Mlp, MlpConfig};
pub use observer::{EpochReport, NoObserver, Observer, Recorded};
pub use train::{TrainConfig, TrainReport};

/// The CPU device (burn's pure-Rust flex backend), single-threaded.
pub fn cpu() -> Device {
    Device::flex()
}

/// The same device with gradient tracking, for training.
pub fn autodiff(device: &Device) -> Device {
    device.clone().autodiff()
}
