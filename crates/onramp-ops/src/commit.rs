//! The one write path of every dialect: run an operation under the control plane's writer,
//! record the request as a task, drop expired tasks, map the store's conflicts to `OpError`.

use onramp_control::{Control, WriteError};
use onramp_core::{Kind, Millis, Op, Record, State, Task};
use onramp_store::{Constraint, StoreError};

use crate::ids::Ids;
use crate::{Cx, OpError};

/// Tasks older than this are dropped as new ones are written.
pub const TASK_RETENTION_MS: i64 = 24 * 3600 * 1000;
/// Expired tasks dropped per write, so one write never carries a long sweep.
const SWEEP_PER_WRITE: usize = 16;

/// Who writes, when, and the task the write becomes (its id is the request's id, which is what
/// GAAP's `DescribeTaskStatus` and terraform poll).
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub account: &'a str,
    pub now: Millis,
    pub task_id: &'a str,
    /// The operation's name in the dialect that called it (kept on the task).
    pub action: &'a str,
}

/// The batch an operation computed and its outcome for the caller.
#[derive(Debug)]
pub struct Plan<R> {
    pub ops: Vec<Op>,
    pub out: R,
    /// Record a task even though nothing changes (a repeated create answers with a task).
    pub task_anyway: bool,
}

impl<R> Plan<R> {
    pub fn new(ops: Vec<Op>, out: R) -> Self {
        Self {
            ops,
            out,
            task_anyway: false,
        }
    }

    /// Nothing to change, but the caller gets a task to poll.
    pub fn task_only(out: R) -> Self {
        Self {
            ops: Vec::new(),
            out,
            task_anyway: true,
        }
    }
}

impl<R> From<(Vec<Op>, R)> for Plan<R> {
    fn from((ops, out): (Vec<Op>, R)) -> Self {
        Plan::new(ops, out)
    }
}

/// Compute a plan from the current state (`f` draws new IDs from the batch's `Ids`) and commit it with its task record. Returns the
/// revision of the write and the plan's outcome. An empty plan commits nothing.
pub async fn commit<R>(
    control: &Control,
    call: &Call<'_>,
    f: impl FnOnce(&Cx, &State, &mut Ids) -> Result<Plan<R>, OpError>,
) -> Result<(u64, R), OpError> {
    let mut ids = Ids::new();
    let result = control
        .write(|st| {
            let cx = Cx {
                account: call.account.to_string(),
                now: call.now,
                applied: control.applied_revision(),
                quotas: control.quotas(),
            };
            let plan = f(&cx, st, &mut ids)?;
            let mut ops = plan.ops;
            if !ops.is_empty() || plan.task_anyway {
                let number = ids.task_number(st);
                ops.extend(task_ops(st, call, number));
            }
            Ok((ops, plan.out))
        })
        .await;
    result.map_err(|e| match e {
        WriteError::Rejected(e) => e,
        WriteError::Store(e) => from_store(e),
    })
}

/// The task record of this call (with its `number`, the integer task id BM clients poll) and
/// the deletion of a few expired tasks.
fn task_ops(st: &State, call: &Call<'_>, number: u64) -> Vec<Op> {
    let mut ops = vec![Op::Put(Record::Task(Task {
        id: call.task_id.to_string(),
        account_id: call.account.to_string(),
        number,
        action: call.action.to_string(),
        created_at: call.now,
        ..Default::default()
    }))];
    let expired = st
        .tasks_created_before(call.now - TASK_RETENTION_MS)
        .take(SWEEP_PER_WRITE);
    ops.extend(expired.map(|t| Op::Delete(Kind::Task, t.id.clone())));
    ops
}

/// Most expired tasks one background sweep deletes (one batch).
const SWEEP_BATCH: usize = 1_000;
/// How often the background sweep runs, and how long its lease lasts.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Delete up to `SWEEP_BATCH` tasks older than the retention at `now` (unix ms), in one batch;
/// how many. Writes also sweep a few each, but a store nobody writes to keeps its tasks until
/// this runs.
pub async fn sweep_expired_tasks(control: &Control, now: i64) -> Result<usize, OpError> {
    let r = control
        .write(|st| {
            let ops: Vec<Op> = st
                .tasks_created_before(now - TASK_RETENTION_MS)
                .take(SWEEP_BATCH)
                .map(|t| Op::Delete(Kind::Task, t.id.clone()))
                .collect();
            let n = ops.len();
            Ok::<_, OpError>((ops, n))
        })
        .await;
    match r {
        Ok((_, n)) => Ok(n),
        Err(WriteError::Rejected(e)) => Err(e),
        Err(WriteError::Store(e)) => Err(from_store(e)),
    }
}

/// The store is the backstop of uniqueness: a racing writer's conflict becomes the same error
/// the operation's own check gives.
fn from_store(e: StoreError) -> OpError {
    match e {
        StoreError::Conflict(Constraint::ListenerPort { port, protocol, .. }) => {
            OpError::PortTaken {
                protocol,
                port,
                listener: None,
            }
        }
        StoreError::Conflict(Constraint::OriginAddress {
            address,
            project_id,
            ..
        }) => OpError::DuplicateAddress {
            address,
            project: project_id,
        },
        e => {
            tracing::error!(error = %e, "store write failed");
            OpError::Store(e)
        }
    }
}

#[cfg(test)]
#[path = "commit_tests.rs"]
mod tests;
