//! The Adult SCM (RootCLAM spec §3.3-§3.4).
