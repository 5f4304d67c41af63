//! Recourse: the cheapest action on an anomalous row's root-cause features that makes it normal
//! again, with the action's effect propagated through the causal graph (RootCLAM) or not
//! (NaiveAM), and a latent-space counterfactual search baseline (C-CHVAE).
pub mod mitigation;

pub use mitigation::{MitigationConfig, MitigationNet, MitigationProblem};

pub mod cchvae;

pub use cchvae::{Cchvae, CchvaeConfig, Detector};

pub mod search;
pub mod support;
pub use support::NormalSupport;

pub use search::{
    FeatureCosts, RecommendConfig, Recommendation, RowScore, recommend, recommend_from,
};

pub mod recad;

pub use recad::{ActionCost, Pooling, Recad, RecadConfig, RecadNet, RecadProblem, RecourseTally};

pub mod stream;
pub use stream::{SeriesOutcome, StepAction, StreamConfig, ValueBounds};

pub mod series;
pub use series::SeriesModels;
