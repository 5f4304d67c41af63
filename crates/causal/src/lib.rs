//! Causal models over a feature DAG that abduct each row's exogenous noise and compute
//! counterfactuals under soft (`x_i + θ_i`, RootCLAM paper Eq. 2) and hard interventions: the
//! exact SCM oracle of a benchmark (for tests and bounds), an additive-noise model, and VACA.
//! Every model implements [`remedy_core::traits::CausalModel`] on raw feature rows (schema
//! order, categories as indices).

pub mod anm;
pub mod extrapolation;
pub mod gvar;
mod linreg;
pub mod nextstep;
pub mod oracle;
pub mod pc;
pub mod soft;
pub mod vaca;
pub mod var;

pub use anm::{Anm, AnmConfig};
pub use gvar::{GrangerStability, Gvar, GvarConfig, granger_auroc};
pub use nextstep::{LstmPredictor, LstmPredictorConfig, MlpPredictor, MlpPredictorConfig};
pub use oracle::ScmOracle;
pub use soft::{SoftCounterfactual, SoftCounterfactualFn};
pub use vaca::{CategoricalCf, Vaca, VacaConfig};
pub use var::{Var, VarConfig};
