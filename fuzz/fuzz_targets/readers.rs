//! Feeds arbitrary bytes to the CSV reader and, as text, to the DOT and edge-list graph
//! readers: each must return a value or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remedy_core::dot::{parse_dot, parse_edge_csv};
use remedy_core::io::parse_csv;

fuzz_target!(|data: &[u8]| {
    let _ = parse_csv(data, "fuzz.csv");
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(g) = parse_dot(text) {
            let _ = g.into_dag();
        }
        if let Ok(g) = parse_edge_csv(text) {
            let _ = g.into_dag();
        }
    }
});
