//! Benchmarks of `Selector::pick` (placeholder, replaced below).
fn main() {}
