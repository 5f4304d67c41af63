//! Long-format tables of a time-series benchmark: one row per (series, step), `series_id` counted
//! from 0 within each table and `t` from 0. Values are raw (not z-scored, spec §2.3 is left to
//! the consumer).

use remedy_core::{Column, Result, Table};

use super::TsDataset;

/// The training table: `series_id, t, <vars>` (normal series).
pub fn train_table(ds: &TsDataset) -> Result<Table> {
    let series: Vec<&[Vec<f64>]> = ds.train().iter().map(Vec::as_slice).collect();
    long_table(ds.names(), &series)
}

/// The test table: `series_id, t, <vars>, is_anomaly, root_causes` (observed series);
/// `is_anomaly` is 0/1, `root_causes` the root-cause variable names joined by `|` on event
/// steps and empty elsewhere.
pub fn test_table(ds: &TsDataset) -> Result<Table> {
    let series: Vec<&[Vec<f64>]> = ds.test().iter().map(|s| s.observed()).collect();
    let mut table = long_table(ds.names(), &series)?;
    let mut labels = Vec::new();
    let mut causes = Vec::new();
    for s in ds.test() {
        for (l, rc) in s.labels().iter().zip(s.root_causes()) {
            labels.push(if *l { 1.0 } else { 0.0 });
            let names: Vec<&str> = rc
                .iter()
                .filter_map(|&j| ds.names().get(j).map(String::as_str))
                .collect();
            causes.push(names.join("|"));
        }
    }
    table.push("is_anomaly", Column::Num(labels))?;
    table.push("root_causes", Column::Text(causes))?;
    Ok(table)
}

/// The anomaly-free counterparts of the test series: `series_id, t, <vars>`.
pub fn test_normal_table(ds: &TsDataset) -> Result<Table> {
    let series: Vec<&[Vec<f64>]> = ds.test().iter().map(|s| s.normal()).collect();
    long_table(ds.names(), &series)
}

/// The anomaly term `a_t` of the test series (Eq. 3, raw units): `series_id, t, <vars>`.
pub fn noise_table(ds: &TsDataset) -> Result<Table> {
    let series: Vec<&[Vec<f64>]> = ds.test().iter().map(|s| s.anomaly_term()).collect();
    long_table(ds.names(), &series)
}

/// All four tables with their conventional names: `train`, `test`, `test_normal`, `noise`.
pub fn tables(ds: &TsDataset) -> Result<Vec<(&'static str, Table)>> {
    Ok(vec![
        ("train", train_table(ds)?),
        ("test", test_table(ds)?),
        ("test_normal", test_normal_table(ds)?),
        ("noise", noise_table(ds)?),
    ])
}

/// `series_id, t, <names>` from a list of series.
fn long_table(names: &[String], series: &[&[Vec<f64>]]) -> Result<Table> {
    let rows: usize = series.iter().map(|s| s.len()).sum();
    let mut ids = Vec::with_capacity(rows);
    let mut ts = Vec::with_capacity(rows);
    let mut values = vec![Vec::with_capacity(rows); names.len()];
    for (i, s) in series.iter().enumerate() {
        for (t, row) in s.iter().enumerate() {
            ids.push(i as f64);
            ts.push(t as f64);
            for (col, v) in values.iter_mut().zip(row) {
                col.push(*v);
            }
        }
    }
    let mut columns = vec![
        ("series_id".to_string(), Column::Num(ids)),
        ("t".to_string(), Column::Num(ts)),
    ];
    columns.extend(
        names
            .iter()
            .cloned()
            .zip(values.into_iter().map(Column::Num)),
    );
    Table::new(columns)
}

/// The schema of a time-series benchmark: every variable continuous and actionable, with cost
/// weight = its sd on the normal training data (so that a cost in raw units equals RecAD's
/// z-space cost, spec §10 item 1).
pub fn schema(ds: &TsDataset) -> Result<remedy_core::Schema> {
    use remedy_core::schema::{Feature, sample_sd};
    let features = ds
        .names()
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let values: Vec<f64> = ds
                .train()
                .iter()
                .flat_map(|s| s.iter().map(move |r| r[j]))
                .collect();
            let sd = sample_sd(&values);
            Feature::continuous(
                name.clone(),
                if sd.is_finite() && sd > 0.0 { sd } else { 1.0 },
            )
        })
        .collect();
    remedy_core::Schema::new(features)
}

/// Every file of a generated time-series benchmark, ready for
/// [`remedy_core::io::write_files`]: `train.csv`, `test.csv`, `test_normal.csv`, `noise.csv`,
/// `graph.dot`, `schema.toml` and `dataset.json`.
pub fn files(ds: &TsDataset, seed: u64) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files: Vec<(String, Vec<u8>)> = tables(ds)?
        .into_iter()
        .map(|(name, t)| {
            (
                format!("{name}.csv"),
                remedy_core::io::to_csv_string(&t).into_bytes(),
            )
        })
        .collect();
    files.push((
        "graph.dot".into(),
        ds.graph().to_dot(ds.benchmark().name()).into_bytes(),
    ));
    files.push(("schema.toml".into(), schema(ds)?.to_toml().into_bytes()));
    let manifest = crate::manifest::DatasetManifest {
        format_version: crate::manifest::DATASET_FORMAT_VERSION,
        generator: format!("remedy {}", env!("CARGO_PKG_VERSION")),
        dataset: ds.benchmark().name().to_string(),
        seed,
        anomaly: Some(ds.anomaly().to_string()),
        sizes: [
            ("train_series".into(), ds.train().len()),
            ("test_series".into(), ds.test().len()),
            ("steps_per_series".into(), ds.series_len()),
        ]
        .into_iter()
        .collect(),
        label_column: None,
        files: files
            .iter()
            .map(|(n, _)| n.clone())
            .chain(["dataset.json".to_string()])
            .collect(),
    };
    files.push(("dataset.json".into(), manifest.to_bytes()));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeseries::{AnomalyType, TsConfig, linear, lotka_volterra};
    use remedy_core::seed;

    #[test]
    fn linear_tables_have_the_documented_layout() {
        let ds = linear(
            &TsConfig::new(3, 4, AnomalyType::Sequence),
            &mut seed::rng(1),
        );
        let tabs = tables(&ds).unwrap();
        let names: Vec<&str> = tabs.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["train", "test", "test_normal", "noise"]);

        let train = &tabs[0].1;
        assert_eq!(train.names(), ["series_id", "t", "x", "w", "y", "z"]);
        assert_eq!(train.n_rows(), 3 * 50);
        assert_eq!(train.numeric("series_id").unwrap()[149], 2.0);
        assert_eq!(train.numeric("t").unwrap()[149], 49.0);
        assert_eq!(train.numeric("w").unwrap()[60], ds.train()[1][10][1]);

        let test = &tabs[1].1;
        assert_eq!(
            test.names(),
            [
                "series_id",
                "t",
                "x",
                "w",
                "y",
                "z",
                "is_anomaly",
                "root_causes"
            ]
        );
        assert_eq!(test.n_rows(), 4 * 50);
        let labels = test.numeric("is_anomaly").unwrap();
        // 3 labelled steps per sequence series (spec §2.1).
        assert_eq!(labels.iter().sum::<f64>(), 12.0);
        let Column::Text(rc) = test.column("root_causes").unwrap() else {
            panic!("root_causes must be text")
        };
        for (i, s) in ds.test().iter().enumerate() {
            for t in 0..50 {
                let row = i * 50 + t;
                assert_eq!(labels[row] == 1.0, s.labels()[t]);
                let expect: Vec<&str> = s.root_causes()[t]
                    .iter()
                    .map(|&j| ds.names()[j].as_str())
                    .collect();
                assert_eq!(rc[row], expect.join("|"));
                assert_eq!(test.numeric("z").unwrap()[row], s.observed()[t][3]);
            }
        }
        assert!(rc.iter().any(|c| !c.is_empty()));

        let normal = &tabs[2].1;
        assert_eq!(
            normal.numeric("x").unwrap()[55],
            ds.test()[1].normal()[5][0]
        );
        let noise = &tabs[3].1;
        let s = &ds.test()[0];
        let t = s.event().start;
        let j = s.event().variables[0];
        // The anomaly term is the +2 shock (spec §2.1).
        assert_eq!(noise.numeric(&ds.names()[j]).unwrap()[t], 2.0);
        assert_eq!(noise.numeric("x").unwrap()[0], 0.0);
    }

    #[test]
    fn lotka_volterra_tables_have_twenty_variables() {
        let ds = lotka_volterra(&TsConfig::new(2, 2, AnomalyType::Point), &mut seed::rng(2));
        let test = test_table(&ds).unwrap();
        assert_eq!(test.n_cols(), 2 + 20 + 2);
        assert_eq!(test.n_rows(), 200);
        assert_eq!(test.names()[2], "x0");
        assert_eq!(test.names()[21], "y9");
        assert_eq!(train_table(&ds).unwrap().n_rows(), 200);
        assert_eq!(noise_table(&ds).unwrap().n_rows(), 200);
    }
}
