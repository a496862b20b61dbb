//! A bar chart with ranges: one horizontal bar per system (its median) and a whisker from the
//! lowest to the highest repetition, the best bar marked, for the benchmark report.

use std::fmt::Write;

use crate::axis::nice;
use crate::{escape, open, Unit, PALETTE};

/// Which way is better, said under the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// One system's result.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// The range over repetitions (equal to `value` when there was one).
    pub low: f64,
    pub high: f64,
    /// Drawn in the first colour (onramp); the others in grey.
    pub highlight: bool,
}

#[derive(Debug, Clone)]
pub struct BarChart {
    pub title: String,
    pub unit: Unit,
    pub better: Better,
    pub bars: Vec<Bar>,
    /// A line under the title (the machine, the repetitions).
    pub note: String,
}

const WIDTH: f64 = 640.0;
const LABEL: f64 = 120.0;
const RIGHT: f64 = 110.0;
const ROW: f64 = 34.0;
const HEAD: f64 = 52.0;

impl BarChart {
    fn x(&self, v: f64, top: f64) -> f64 {
        LABEL + (v / top).clamp(0.0, 1.0) * (WIDTH - LABEL - RIGHT)
    }

    pub fn svg(&self) -> String {
        let max = self
            .bars
            .iter()
            .map(|b| b.high.max(b.value))
            .fold(0.0f64, f64::max);
        let (step, top) = nice(max, 4);
        let height = HEAD + ROW * self.bars.len() as f64 + 30.0;
        let mut out = String::new();
        open(&mut out, WIDTH as u32, height as u32, &self.title);
        let better = match self.better {
            Better::Higher => "higher is better",
            Better::Lower => "lower is better",
        };
        let _ = write!(
            out,
            "<rect width=\"{WIDTH}\" height=\"{height:.0}\" fill=\"#ffffff\"/>\
             <text x=\"12\" y=\"20\" font-size=\"14\" font-weight=\"600\" fill=\"#0f172a\">{}</text>\
             <text x=\"12\" y=\"38\" fill=\"#64748b\">{} · {better} · bars: median, whiskers: min–max</text>",
            escape(&self.title),
            escape(&self.note)
        );
        let bottom = HEAD + ROW * self.bars.len() as f64;
        let mut v = 0.0;
        while v <= top + step * 1e-9 {
            let x = self.x(v, top);
            let _ = write!(
                out,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{bottom:.1}\" stroke=\"#e2e8f0\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#64748b\">{}</text>",
                HEAD - 4.0,
                bottom + 16.0,
                escape(&self.unit.format(v))
            );
            v += step;
        }
        for (i, b) in self.bars.iter().enumerate() {
            self.bar(&mut out, b, HEAD + ROW * i as f64, top);
        }
        out.push_str("</svg>");
        out
    }

    fn bar(&self, out: &mut String, b: &Bar, y: f64, top: f64) {
        let color = if b.highlight { PALETTE[0] } else { "#94a3b8" };
        let (x0, x1) = (self.x(0.0, top), self.x(b.value, top));
        let (lo, hi) = (self.x(b.low, top), self.x(b.high, top));
        let mid = y + ROW / 2.0;
        let weight = if b.highlight { "600" } else { "400" };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-weight=\"{weight}\" fill=\"#0f172a\">{}</text>\
             <rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"18\" rx=\"3\" fill=\"{color}\"/>\
             <line x1=\"{lo:.1}\" x2=\"{hi:.1}\" y1=\"{mid:.1}\" y2=\"{mid:.1}\" stroke=\"#0f172a\" stroke-width=\"1.5\"/>\
             <line x1=\"{lo:.1}\" x2=\"{lo:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#0f172a\" stroke-width=\"1.5\"/>\
             <line x1=\"{hi:.1}\" x2=\"{hi:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#0f172a\" stroke-width=\"1.5\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#0f172a\" font-weight=\"{weight}\">{}</text>",
            LABEL - 8.0,
            mid + 4.0,
            escape(&b.label),
            mid - 9.0,
            (x1 - x0).max(1.0),
            mid - 5.0,
            mid + 5.0,
            mid - 5.0,
            mid + 5.0,
            hi.max(x1) + 8.0,
            mid + 4.0,
            escape(&self.unit.format(b.value))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_have_whiskers_and_values() {
        let c = BarChart {
            title: "TCP throughput, 1 stream".into(),
            unit: Unit::Plain("Gbit/s"),
            better: Better::Higher,
            note: "5 repetitions".into(),
            bars: vec![
                Bar {
                    label: "onramp".into(),
                    value: 12.1,
                    low: 11.8,
                    high: 12.4,
                    highlight: true,
                },
                Bar {
                    label: "nginx".into(),
                    value: 14.96,
                    low: 14.0,
                    high: 15.2,
                    highlight: false,
                },
            ],
        };
        let svg = c.svg();
        assert!(
            svg.contains(">onramp</text>") && svg.contains(">12.1 Gbit/s</text>"),
            "{svg}"
        );
        assert!(svg.contains(">15 Gbit/s</text>"), "value label: {svg}");
        assert!(svg.contains("higher is better"), "{svg}");
        assert_eq!(svg.matches("<rect ").count(), 3, "background and two bars");
        assert!(!svg.contains("style="));
    }
}
