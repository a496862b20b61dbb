//! One SVG chart per figure measured on more than one system (`charts/<figure>.svg` beside
//! `results.json`): a bar per system at its median, a whisker over the range of the
//! repetitions, onramp in colour, drawn by `onramp-chart`. BENCHMARKS.md shows a run's charts.

use std::path::Path;

use onramp_chart::{Bar, BarChart, Better, Unit};

use crate::report::{metric, Results};
use crate::systems::System;

/// A unit the chart writes after its numbers.
fn unit(u: &'static str) -> Unit {
    Unit::Plain(u)
}

/// The chart of figure `id`, if at least two systems measured it.
pub fn chart(res: &Results, id: &'static str, machine: &str) -> Option<String> {
    let m = metric(id);
    let bars: Vec<Bar> = System::ALL
        .iter()
        .filter_map(|s| {
            let (median, low, high, _) = res.range(id, *s)?;
            Some(Bar {
                label: s.name().to_string(),
                value: median,
                low,
                high,
                highlight: *s == System::Onramp,
            })
        })
        .collect();
    if bars.len() < 2 {
        return None;
    }
    let reps = System::ALL
        .iter()
        .filter_map(|s| res.range(id, *s).map(|r| r.3))
        .max()
        .unwrap_or(1);
    Some(
        BarChart {
            title: m.title.to_string(),
            unit: unit(m.unit),
            better: if m.higher {
                Better::Higher
            } else {
                Better::Lower
            },
            bars,
            note: format!(
                "{machine} · {reps} repetition{}",
                if reps == 1 { "" } else { "s" }
            ),
        }
        .svg(),
    )
}

/// Write every chart of the run under `dir/charts/`; the figures drawn.
pub fn write(res: &Results, dir: &Path, machine: &str) -> anyhow::Result<Vec<&'static str>> {
    let out = dir.join("charts");
    std::fs::create_dir_all(&out)?;
    let mut drawn = Vec::new();
    for id in res.figures() {
        if let Some(svg) = chart(res, id, machine) {
            std::fs::write(out.join(format!("{id}.svg")), svg)?;
            drawn.push(id);
        }
    }
    Ok(drawn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_of_several_systems_gets_a_chart_with_its_ranges() {
        let mut res = Results::default();
        for v in [12.0, 12.4, 11.8] {
            res.add("tcp_bulk_1_stream", System::Onramp, v);
        }
        for v in [14.9, 15.2] {
            res.add("tcp_bulk_1_stream", System::Nginx, v);
        }
        res.add("udp_rate", System::Onramp, 1.0);
        let svg = chart(&res, "tcp_bulk_1_stream", "quick mode").expect("two systems");
        assert!(
            svg.contains(">onramp</text>") && svg.contains(">nginx</text>"),
            "{svg}"
        );
        assert!(svg.contains(">12 Gbit/s</text>"), "the median: {svg}");
        assert!(
            svg.contains("3 repetitions") && svg.contains("higher is better"),
            "{svg}"
        );
        assert!(
            chart(&res, "udp_rate", "").is_none(),
            "one system: no chart"
        );
        let dir = std::env::temp_dir().join(format!("onramp-bench-charts-{}", std::process::id()));
        let drawn = write(&res, &dir, "x").unwrap();
        assert_eq!(drawn, ["tcp_bulk_1_stream"]);
        assert!(dir.join("charts/tcp_bulk_1_stream.svg").is_file());
        let _ = std::fs::remove_dir_all(dir);
    }
}
