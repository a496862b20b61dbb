//! The edge protocol between `onramp edge` nodes and control nodes, over the control node's
//! HTTP port under `/edge/v1` (JSON; every request carries the shared edge token as
//! `Authorization: Bearer …`):
//!
//! - `POST /edge/v1/register` — an edge names itself, its region and the addresses clients
//!   reach it on, and the revision it serves (from its state directory).
//! - `GET /edge/v1/updates?name=N&since=REV&wait=SECS` — long-poll: a full snapshot of the
//!   edge's region (no `since`, or `since` older than the node remembers), else the changes
//!   since `since` only, else after `wait` seconds "nothing new".
//! - `POST /edge/v1/report` — about every second: the applied revision, the listeners that
//!   could not open, health per binding and per-minute series (changes since the node's last
//!   answer).
//!
//! `server` is the control node's end, `client` + `remote` the edge's; `follow` is the one loop
//! that feeds an edge from a `Source`, remote (`onramp edge`) or in-process (`onramp serve`);
//! `state_dir` keeps the edge's copy on disk.
#![forbid(unsafe_code)]

pub mod client;
pub mod follow;
pub mod remote;
pub mod report;
pub mod server;
pub mod state_dir;
pub mod wire;
