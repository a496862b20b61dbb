//! A time-series chart: one or more series over `[from, to]`, y from zero, a legend with each
//! series' last value, gaps where a value is missing.

use std::fmt::Write;

use crate::axis::{clock, nice};
use crate::{escape, open, Unit, PALETTE};

/// One line of a chart: `(unix seconds, value)`, oldest first; `None` is a gap.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(i64, Option<f64>)>,
}

/// A chart of series sharing one unit.
#[derive(Debug, Clone)]
pub struct TimeChart {
    /// Read by screen readers (and shown by nothing else: the page has the heading).
    pub label: String,
    pub unit: Unit,
    pub from: i64,
    pub to: i64,
    pub series: Vec<Series>,
    pub width: u32,
    pub height: u32,
}

const LEFT: f64 = 62.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 24.0;
/// Candidate spacings of the time axis, seconds.
const TIME_STEPS: [i64; 10] = [
    300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
];

impl TimeChart {
    pub fn new(label: impl Into<String>, unit: Unit, from: i64, to: i64) -> Self {
        Self {
            label: label.into(),
            unit,
            from,
            to: to.max(from + 60),
            series: Vec::new(),
            width: 1000,
            height: 230,
        }
    }

    pub fn series(mut self, name: impl Into<String>, points: Vec<(i64, Option<f64>)>) -> Self {
        self.series.push(Series {
            name: name.into(),
            points,
        });
        self
    }

    fn x(&self, t: i64) -> f64 {
        let w = self.width as f64 - LEFT - RIGHT;
        LEFT + (t - self.from) as f64 / (self.to - self.from) as f64 * w
    }

    fn y(&self, v: f64, top: f64) -> f64 {
        let h = self.height as f64 - TOP - BOTTOM;
        TOP + h - (v / top).clamp(0.0, 1.0) * h
    }

    fn has_data(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.points.iter().any(|p| p.1.is_some_and(|v| v > 0.0)))
    }

    /// The chart as one `<svg>` element.
    pub fn svg(&self) -> String {
        let max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.1))
            .fold(0.0f64, f64::max);
        let (step, top) = nice(max, 4);
        let mut out = String::new();
        open(&mut out, self.width, self.height, &self.label);
        self.grid(&mut out, step, top);
        for (i, s) in self.series.iter().enumerate() {
            self.draw(&mut out, s, PALETTE[i % PALETTE.len()], i == 0, top);
        }
        self.legend(&mut out);
        if max == 0.0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#94a3b8\">No traffic in this period</text>",
                (LEFT + self.width as f64 - RIGHT) / 2.0,
                TOP + (self.height as f64 - TOP - BOTTOM) / 2.0
            );
        }
        out.push_str("</svg>");
        out
    }

    fn grid(&self, out: &mut String, step: f64, top: f64) {
        let right = self.width as f64 - RIGHT;
        let mut v = 0.0;
        // An empty chart has only its zero line: steps of nothing would be made up.
        let top_line = if self.has_data() { top } else { 0.0 };
        while v <= top_line + step * 1e-9 {
            let y = self.y(v, top);
            let _ = write!(
                out,
                "<line x1=\"{LEFT}\" x2=\"{right:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e2e8f0\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#64748b\">{}</text>",
                LEFT - 6.0,
                y + 4.0,
                escape(&self.unit.format(v))
            );
            v += step;
        }
        let span = self.to - self.from;
        let every = TIME_STEPS
            .iter()
            .copied()
            .find(|s| span / s <= 7)
            .unwrap_or(86_400);
        let base = self.height as f64 - BOTTOM;
        let mut t = self.from - self.from.rem_euclid(every) + every;
        while t < self.to {
            let x = self.x(t);
            let _ = write!(
                out,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{base:.1}\" y2=\"{:.1}\" stroke=\"#cbd5e1\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#64748b\">{}</text>",
                base + 4.0,
                base + 17.0,
                clock(t)
            );
            t += every;
        }
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{right:.1}\" y1=\"{base:.1}\" y2=\"{base:.1}\" stroke=\"#94a3b8\"/>"
        );
    }

    /// The runs of consecutive present points, each as `x,y` pairs.
    fn runs(&self, s: &Series, top: f64) -> Vec<Vec<(f64, f64)>> {
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (t, v) in &s.points {
            match v {
                Some(v) if (self.from..=self.to).contains(t) => {
                    if let Some(run) = runs.last_mut() {
                        run.push((self.x(*t), self.y(*v, top)));
                    }
                }
                _ => runs.push(Vec::new()),
            }
        }
        runs.retain(|r| !r.is_empty());
        runs
    }

    fn draw(&self, out: &mut String, s: &Series, color: &str, area: bool, top: f64) {
        let base = self.y(0.0, top);
        for run in self.runs(s, top) {
            let pts: Vec<String> = run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            if area && run.len() > 1 {
                let (first, last) = (run[0].0, run[run.len() - 1].0);
                let _ = write!(
                    out,
                    "<polygon points=\"{first:.1},{base:.1} {} {last:.1},{base:.1}\" fill=\"{color}\" fill-opacity=\"0.12\"/>",
                    pts.join(" ")
                );
            }
            if run.len() == 1 {
                let (x, y) = run[0];
                let _ = write!(
                    out,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{color}\"/>"
                );
            } else {
                let _ = write!(
                    out,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
                    pts.join(" ")
                );
            }
        }
    }

    fn legend(&self, out: &mut String) {
        let mut x = LEFT;
        for (i, s) in self.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let last = s.points.iter().rev().find_map(|p| p.1);
            let text = match last {
                Some(v) => format!("{} {}", s.name, self.unit.format(v)),
                None => s.name.clone(),
            };
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"9\" width=\"10\" height=\"10\" rx=\"2\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"18\" fill=\"#334155\">{}</text>",
                x + 15.0,
                escape(&text)
            );
            x += 28.0 + 7.0 * text.chars().count() as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_is_drawn_with_its_gaps_and_legend() {
        let pts = vec![
            (0, Some(1.0)),
            (60, Some(3.0)),
            (120, None),
            (180, Some(2.0)),
            (240, Some(4.0)),
        ];
        let svg = TimeChart::new("conns <1h>", Unit::Count, 0, 3600)
            .series("open", pts)
            .svg();
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "{svg}");
        assert!(svg.contains("aria-label=\"conns &lt;1h&gt;\""), "{svg}");
        // Two runs: two polylines (and two areas under them).
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<polygon").count(), 2, "{svg}");
        assert!(
            svg.contains(">open 4</text>"),
            "legend shows the last value: {svg}"
        );
        assert!(!svg.contains("style="), "no style attributes (CSP)");
        assert!(!svg.contains("No traffic"));
        // The time axis is labelled in 10-minute steps over an hour.
        assert!(svg.contains(">00:10<") && svg.contains(">00:50<"), "{svg}");
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = TimeChart::new("x", Unit::Bits, 0, 86_400)
            .series("in", vec![(0, Some(0.0)), (60, None)])
            .svg();
        assert!(svg.contains("No traffic in this period"), "{svg}");
        assert!(svg.contains(">06:00<") && svg.contains(">18:00<"), "{svg}");
        assert!(!svg.contains("1 bit/s"), "no made-up scale: {svg}");
    }
}
