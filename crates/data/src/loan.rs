//! The Loan SCM (RootCLAM spec §3.1-§3.2).
