//! Property tests of the readers users feed their own files to: whatever the bytes, the CSV,
//! DOT and edge-list parsers return a value or an error, never panic; a table written as CSV
//! reads back the same; any graph the parsers accept becomes a DAG or a cycle error.

use proptest::prelude::*;
use remedy_core::dot::{parse_dot, parse_edge_csv};
use remedy_core::io::{parse_csv, to_csv_string};
use remedy_core::{Column, Table};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn csv_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_csv(&bytes, "fuzz.csv");
    }

    #[test]
    fn csv_like_text_never_panics(text in "[a-c0-9,.\\-\n\"eE ]{0,200}") {
        let _ = parse_csv(text.as_bytes(), "fuzz.csv");
    }

    #[test]
    fn graph_parsers_never_panic(text in "[a-dA-D0-9 ;{}\\[\\]=\"\n>/-]{0,200}") {
        if let Ok(g) = parse_dot(&text) {
            let _ = g.into_dag();
        }
        if let Ok(g) = parse_edge_csv(&text) {
            let _ = g.into_dag();
        }
    }

    #[test]
    fn numeric_tables_round_trip_through_csv(
        cols in 1usize..5,
        values in proptest::collection::vec(-1e12f64..1e12, 1..60),
    ) {
        let rows = values.len() / cols;
        prop_assume!(rows > 0);
        let table = Table::new(
            (0..cols)
                .map(|c| {
                    let v: Vec<f64> = (0..rows).map(|r| values[r * cols + c]).collect();
                    (format!("c{c}"), Column::Num(v))
                })
                .collect(),
        )
        .unwrap();
        let back = parse_csv(to_csv_string(&table).as_bytes(), "round.csv").unwrap();
        prop_assert_eq!(back.n_rows(), rows);
        for ((n1, c1), (n2, c2)) in table.columns().zip(back.columns()) {
            prop_assert_eq!(n1, n2);
            match (c1, c2) {
                (Column::Num(a), Column::Num(b)) => prop_assert_eq!(a, b),
                _ => prop_assert!(false, "column {} changed type", n1),
            }
        }
    }
}
