//! The walk every physical rewrite of this crate shares: bottom up, each node of one kind
//! offered for replacement.
//!
//! The walk is DataFusion's `transform_up`, which grows its stack on the heap for deep plans
//! (`recursive_protection`); the plans it sees are bounded by the engine's statement limits.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::physical_plan::ExecutionPlan;

/// `plan` with every node of type `T` for which `replace` gives a new node swapped for it.
pub(crate) fn replace_nodes<T: ExecutionPlan + 'static>(
    plan: Arc<dyn ExecutionPlan>,
    replace: impl Fn(&T) -> Result<Option<Arc<dyn ExecutionPlan>>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let replacement = match node.downcast_ref::<T>() {
            Some(found) => replace(found)?,
            None => None,
        };
        Ok(match replacement {
            Some(new) => Transformed::yes(new),
            None => Transformed::no(node),
        })
    })
    .map(|t| t.data)
}
