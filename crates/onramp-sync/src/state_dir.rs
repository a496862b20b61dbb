//! The edge's copy of its configuration on disk (`--state-dir`), so an edge restarted while
//! every control node is away serves what it served before.
//!
//! Two files: `snapshot.json` (a full snapshot, replaced atomically: written aside, synced,
//! renamed) and `changes.jsonl` (the deltas since, one per line, appended and synced). A
//! writer thread does all the disk work, off the edge's and the sync loop's paths; it keeps the
//! current snapshot (sharing the specs with the edge) and folds the changes into a new
//! `snapshot.json` once they outgrow it. Loading reads the snapshot and replays the changes; a
//! torn last line (a crash while appending) is ignored.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use anyhow::Context;
use onramp_core::snapshot::{Snapshot, Update};

use crate::wire::UpdateDto;

const SNAPSHOT: &str = "snapshot.json";
const CHANGES: &str = "changes.jsonl";
/// The changes file is folded into the snapshot once it is this big and bigger than the
/// snapshot itself.
const FOLD_AT: u64 = 4 << 20;

/// The snapshot kept in `dir`, with its changes applied; `None` when there is none.
pub fn load(dir: &Path) -> anyhow::Result<Option<Snapshot>> {
    let path = dir.join(SNAPSHOT);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let dto: UpdateDto = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a snapshot", path.display()))?;
    let Some(Update::Full(snap)) = dto.into_update() else {
        anyhow::bail!("{} is not a full snapshot", path.display());
    };
    let mut snap = Arc::unwrap_or_clone(snap);
    let changes = match File::open(dir.join(CHANGES)) {
        Ok(f) => f,
        Err(_) => return Ok(Some(snap)),
    };
    for line in BufReader::new(changes).lines() {
        let Ok(line) = line else { break };
        let Ok(dto) = serde_json::from_str::<UpdateDto>(&line) else {
            tracing::warn!(
                "ignoring a torn last line of {}",
                dir.join(CHANGES).display()
            );
            break;
        };
        // Deltas chain: each starts where the one before ended. One that ends at or before
        // the snapshot is a leftover of the file the snapshot replaced (a crash between the
        // rename and the truncation); one that starts after it is a gap: stop there.
        match dto.into_update() {
            Some(Update::Delta(d)) if d.revision <= snap.revision => {}
            Some(Update::Delta(d)) if d.from == snap.revision => snap.apply_delta(&d),
            _ => break,
        }
    }
    Ok(Some(snap))
}

/// Hands updates to the writer thread; dropping it stops the thread once it caught up.
pub struct StateWriter {
    tx: mpsc::Sender<Update>,
}

impl StateWriter {
    /// Start writing into `dir` (made if missing), from `current` (what `load` gave, if any).
    pub fn start(dir: &Path, current: Option<Snapshot>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --state-dir {}", dir.display()))?;
        let probe = dir.join(".onramp-write-test");
        std::fs::write(&probe, b"")
            .with_context(|| format!("--state-dir {} is not writable", dir.display()))?;
        let _ = std::fs::remove_file(probe);
        let (tx, rx) = mpsc::channel();
        let mut w = Writer {
            dir: dir.to_path_buf(),
            current,
            changes_bytes: std::fs::metadata(dir.join(CHANGES)).map_or(0, |m| m.len()),
            snapshot_bytes: std::fs::metadata(dir.join(SNAPSHOT)).map_or(0, |m| m.len()),
        };
        std::thread::Builder::new()
            .name("onramp-state-dir".into())
            .spawn(move || {
                while let Ok(u) = rx.recv() {
                    let mut batch = vec![u];
                    batch.extend(rx.try_iter());
                    if let Err(e) = w.write(batch) {
                        tracing::error!(dir = %w.dir.display(), error = %e, "cannot keep the configuration in the state directory");
                    }
                }
            })?;
        Ok(Self { tx })
    }

    /// Keep `u` (queued; never blocks).
    pub fn record(&self, u: &Update) {
        let _ = self.tx.send(u.clone());
    }
}

struct Writer {
    dir: PathBuf,
    current: Option<Snapshot>,
    changes_bytes: u64,
    snapshot_bytes: u64,
}

impl Writer {
    fn write(&mut self, batch: Vec<Update>) -> anyhow::Result<()> {
        let mut lines = Vec::new();
        let mut full = false;
        for u in batch {
            match (&u, self.current.as_mut()) {
                (Update::Full(s), _) => {
                    self.current = Some(Snapshot::clone(s));
                    lines.clear();
                    full = true;
                }
                (Update::Delta(d), Some(cur)) => {
                    cur.apply_delta(d);
                    serde_json::to_writer(&mut lines, &UpdateDto::from(&u))?;
                    lines.push(b'\n');
                }
                // A delta with nothing to apply it to: wait for a full snapshot.
                (Update::Delta(_), None) => {}
            }
        }
        let folding = self.changes_bytes + lines.len() as u64 > FOLD_AT.max(self.snapshot_bytes);
        if full || folding {
            return self.write_snapshot();
        }
        if lines.is_empty() {
            return Ok(());
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(CHANGES))?;
        f.write_all(&lines)?;
        f.sync_data()?;
        self.changes_bytes += lines.len() as u64;
        Ok(())
    }

    fn write_snapshot(&mut self) -> anyhow::Result<()> {
        let Some(cur) = &self.current else {
            return Ok(());
        };
        let bytes = serde_json::to_vec(&UpdateDto::full(cur))?;
        let tmp = self.dir.join(format!("{SNAPSHOT}.tmp"));
        let mut f = File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, self.dir.join(SNAPSHOT))?;
        File::create(self.dir.join(CHANGES))?.sync_all()?;
        File::open(&self.dir)?.sync_all()?;
        self.snapshot_bytes = bytes.len() as u64;
        self.changes_bytes = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
