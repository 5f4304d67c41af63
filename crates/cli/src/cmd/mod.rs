//! One module per subcommand.

pub mod bench;
pub mod demo;
pub mod detect;
pub mod explain;
pub mod fit;
pub mod generate;
pub mod graph;
pub mod recommend;
pub mod report;
pub mod reproduce;
pub mod scm;
pub mod ts;
pub mod whatif;
