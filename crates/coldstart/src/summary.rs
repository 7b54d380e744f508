//! The figures of each binary over its runs, as a table and as JSON.

use std::{fmt::Write, time::Duration};

use serde::Serialize;

use crate::launch::Start;

/// The reference every ratio is taken against, when it is measured.
pub const REFERENCE: &str = "sdk_hello_world";

/// One binary over all its measured runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The binary's name.
    pub name: String,
    /// Its path.
    pub path: String,
    /// Each run's init in milliseconds, in run order.
    pub init_ms: Vec<f64>,
    /// The median init.
    pub median_ms: f64,
    /// The fastest init.
    pub min_ms: f64,
    /// The slowest init.
    pub max_ms: f64,
    /// The largest `VmHWM` of any run, in MiB.
    pub peak_rss_mib: f64,
    /// The executable's size, in bytes.
    pub size_bytes: u64,
    /// Its size zipped as a Lambda `bootstrap`, in bytes.
    pub zipped_bytes: u64,
    /// Its median over the reference's median, when the reference was measured.
    pub ratio_to_reference: Option<f64>,
}

/// What the JSON report holds.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// Measured rounds.
    pub runs: usize,
    /// Unmeasured rounds before them.
    pub warmup: usize,
    /// The binary every ratio is against.
    pub reference: &'static str,
    /// One entry per binary, in the order given.
    pub binaries: &'a [Summary],
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted.get(mid).copied()
    } else {
        Some((sorted.get(mid.checked_sub(1)?)? + sorted.get(mid)?) / 2.0)
    }
}

/// Milliseconds, as the report prints them.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

const MIB: f64 = 1024.0 * 1024.0;

impl Summary {
    /// The summary of `starts`; `None` when there are none.
    pub fn new(
        name: &str,
        path: &str,
        starts: &[Start],
        size_bytes: u64,
        zipped_bytes: u64,
    ) -> Option<Self> {
        let init_ms: Vec<f64> = starts.iter().map(|s| millis(s.init)).collect();
        Some(Self {
            name: name.to_owned(),
            path: path.to_owned(),
            median_ms: median(&init_ms)?,
            min_ms: init_ms.iter().copied().reduce(f64::min)?,
            max_ms: init_ms.iter().copied().reduce(f64::max)?,
            init_ms,
            peak_rss_mib: starts.iter().map(|s| s.peak_rss_kib).max()? as f64 / 1024.0,
            size_bytes,
            zipped_bytes,
            ratio_to_reference: None,
        })
    }
}

/// Sets each summary's ratio to the reference's median, when the reference is among them.
pub fn add_ratios(summaries: &mut [Summary]) {
    let Some(reference) = summaries
        .iter()
        .find(|s| s.name == REFERENCE)
        .map(|s| s.median_ms)
    else {
        return;
    };
    for summary in summaries {
        summary.ratio_to_reference = Some(summary.median_ms / reference);
    }
}

/// The report as a table, one row per binary.
pub fn table(summaries: &[Summary]) -> String {
    let width = summaries
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0)
        .max("binary".len());
    let mut out = format!(
        "{:<width$}  {:>10}  {:>8}  {:>8}  {:>13}  {:>9}  {:>10}  {:>9}\n",
        "binary",
        "median ms",
        "min ms",
        "max ms",
        "peak RSS MiB",
        "size MiB",
        "zipped MiB",
        "ratio",
    );
    for s in summaries {
        let ratio = s
            .ratio_to_reference
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"));
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{:<width$}  {:>10.1}  {:>8.1}  {:>8.1}  {:>13.1}  {:>9.2}  {:>10.2}  {:>9}",
            s.name,
            s.median_ms,
            s.min_ms,
            s.max_ms,
            s.peak_rss_mib,
            s.size_bytes as f64 / MIB,
            s.zipped_bytes as f64 / MIB,
            ratio,
        );
    }
    if summaries.iter().any(|s| s.ratio_to_reference.is_some()) {
        let _ = writeln!(out, "ratio: median init over {REFERENCE}'s median init");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    fn start(ms: u64, rss: u64) -> Start {
        Start {
            init: Duration::from_millis(ms),
            peak_rss_kib: rss,
        }
    }

    #[test]
    fn a_summary_takes_the_median_init_and_the_largest_rss() {
        let s = Summary::new(
            "t",
            "/t",
            &[start(30, 2048), start(10, 4096), start(20, 1024)],
            1,
            1,
        )
        .unwrap();
        assert_eq!((s.median_ms, s.min_ms, s.max_ms), (20.0, 10.0, 30.0));
        assert_eq!(s.peak_rss_mib, 4.0);
        assert_eq!(s.init_ms, [30.0, 10.0, 20.0]);
        assert_eq!(Summary::new("t", "/t", &[], 1, 1), None);
    }

    #[test]
    fn ratios_are_against_the_sdk_hello_world_median() {
        let mut summaries = vec![
            Summary::new("tool", "/t", &[start(30, 1)], 1, 1).unwrap(),
            Summary::new(REFERENCE, "/r", &[start(20, 1)], 1, 1).unwrap(),
        ];
        add_ratios(&mut summaries);
        assert_eq!(summaries[0].ratio_to_reference, Some(1.5));
        assert_eq!(summaries[1].ratio_to_reference, Some(1.0));
        let mut alone = vec![Summary::new("tool", "/t", &[start(30, 1)], 1, 1).unwrap()];
        add_ratios(&mut alone);
        assert_eq!(alone[0].ratio_to_reference, None);
        assert!(table(&alone).lines().nth(1).unwrap().ends_with('-'));
        assert!(table(&summaries).contains("ratio: median init over"));
    }
}
