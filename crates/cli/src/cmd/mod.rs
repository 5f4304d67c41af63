//! One module per subcommand.

pub mod bench;
pub mod demo;
pub mod generate;
pub mod graph;
pub mod reproduce;
pub mod scm;
