//! Small SVG charts drawn on the server, with no dependency: time series (the console's traffic
//! charts: connections, bandwidth, packets per minute) and bars with ranges (the benchmark
//! report: a median and its min–max over repetitions, one bar per system).
//!
//! The output is one self-contained `<svg>` element that uses presentation attributes only (no
//! `style` attributes, no scripts, no external fonts), so it can be inlined in a page served with
//! a strict Content-Security-Policy or committed as a file. Text is XML-escaped. Scales use "nice"
//! steps (1, 2, 2.5, 5 × 10ⁿ) and values are written with SI prefixes.
#![forbid(unsafe_code)]

mod axis;
mod bars;
mod series;

pub use axis::{si, Unit};
pub use bars::{Bar, BarChart, Better};
pub use series::{Series, TimeChart};

/// The palette: distinguishable on white and for the common colour-vision deficiencies.
pub const PALETTE: [&str; 6] = [
    "#2563eb", "#f97316", "#059669", "#9333ea", "#dc2626", "#64748b",
];

/// `s` with the five XML special characters escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The opening tag every chart shares: a viewBox that scales with its container, a title for
/// screen readers.
fn open(out: &mut String, width: u32, height: u32, label: &str) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"100%\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-label=\"{l}\" \
         font-family=\"system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif\" \
         font-size=\"12\"><title>{l}</title>",
        l = escape(label)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\"'"), "a&lt;b &amp; &quot;c&quot;&#39;");
    }
}
