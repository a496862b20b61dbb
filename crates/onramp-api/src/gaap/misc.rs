//! Tasks, regions and tags.

use serde_json::{Map, Value};

use crate::tencent::{Ctx, Params, TcError, TcResult};

pub async fn describe_task_status(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeTaskStatus is not implemented yet."))
}

pub async fn describe_access_regions(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeAccessRegions is not implemented yet."))
}

pub async fn describe_dest_regions(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeDestRegions is not implemented yet."))
}

pub async fn describe_resources_by_tag(_ctx: &Ctx<'_>, _p: Params) -> TcResult<Map<String, Value>> {
    Err(TcError::new("UnsupportedOperation", "DescribeResourcesByTag is not implemented yet."))
}
