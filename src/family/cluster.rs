//! CLUSTER as a server without cluster support answers it (Redis 7.0 with
//! `cluster-enabled no`): every subcommand exists, with Redis's arity and
//! flags (CLUSTER RESET is refused inside scripts), and answers that
//! cluster support is disabled. Redis Cluster itself comes later.

use bytes::Bytes;

use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{msg, CmdError, CmdResult};
use crate::reply::Reply;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("cluster", -2, 0, Keys::None, disabled)
        .doc("cluster", "3.0.0", "A container for cluster commands")
        .subs(&[
            CommandSpec::new("addslots", -3, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Assign new hash slots to receiving node",
            ),
            CommandSpec::new("addslotsrange", -4, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "7.0.0",
                "Assign new hash slots to receiving node",
            ),
            CommandSpec::new("bumpepoch", 2, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Advance the cluster config epoch",
            ),
            CommandSpec::new(
                "count-failure-reports",
                3,
                ADMIN | STALE,
                Keys::None,
                disabled,
            )
            .doc(
                "cluster",
                "3.0.0",
                "Return the number of failure reports active for a given node",
            ),
            CommandSpec::new("countkeysinslot", 3, STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Return the number of local keys in the specified hash slot",
            ),
            CommandSpec::new("delslots", -3, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Set hash slots as unbound in receiving node",
            ),
            CommandSpec::new("delslotsrange", -4, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "7.0.0",
                "Set hash slots as unbound in receiving node",
            ),
            CommandSpec::new("failover", -2, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Forces a replica to perform a manual failover of its master.",
            ),
            CommandSpec::new("flushslots", 2, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Delete a node's own slots information",
            ),
            CommandSpec::new("forget", 3, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Remove a node from the nodes table",
            ),
            CommandSpec::new("getkeysinslot", 4, STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Return local key names in the specified hash slot",
            ),
            CommandSpec::new("help", 2, LOADING | STALE, Keys::None, disabled).doc(
                "cluster",
                "5.0.0",
                "Show helpful text about the different subcommands",
            ),
            CommandSpec::new("info", 2, STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Provides info about Redis Cluster node state",
            ),
            CommandSpec::new("keyslot", 3, STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Returns the hash slot of the specified key",
            ),
            CommandSpec::new("links", 2, STALE, Keys::None, disabled).doc(
                "cluster",
                "7.0.0",
                "Returns a list of all TCP links to and from peer nodes in cluster",
            ),
            CommandSpec::new("meet", -4, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Force a node cluster to handshake with another node",
            ),
            CommandSpec::new("myid", 2, STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Return the node id",
            ),
            CommandSpec::new("nodes", 2, STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Get Cluster config for the node",
            ),
            CommandSpec::new("replicas", 3, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "5.0.0",
                "List replica nodes of the specified master node",
            ),
            CommandSpec::new("replicate", 3, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Reconfigure a node as a replica of the specified master node",
            ),
            CommandSpec::new("reset", -2, ADMIN | STALE | NOSCRIPT, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Reset a Redis Cluster node",
            ),
            CommandSpec::new("saveconfig", 2, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Forces the node to save cluster state on disk",
            ),
            CommandSpec::new("set-config-epoch", 3, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Set the configuration epoch in a new node",
            ),
            CommandSpec::new("setslot", -4, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Bind a hash slot to a specific node",
            ),
            CommandSpec::new("shards", 2, STALE, Keys::None, disabled).doc(
                "cluster",
                "7.0.0",
                "Get array of cluster slots to node mappings",
            ),
            CommandSpec::new("slaves", 3, ADMIN | STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "List replica nodes of the specified master node",
            ),
            CommandSpec::new("slots", 2, STALE, Keys::None, disabled).doc(
                "cluster",
                "3.0.0",
                "Get array of Cluster slot to node mappings",
            ),
        ]),
    // The cluster's read-from-replica switches: refused the same way.
    CommandSpec::new("readonly", 1, FAST | LOADING | STALE, Keys::None, disabled).doc(
        "cluster",
        "3.0.0",
        "Enables read queries for a connection to a cluster replica node",
    ),
    CommandSpec::new("readwrite", 1, FAST | LOADING | STALE, Keys::None, disabled).doc(
        "cluster",
        "3.0.0",
        "Disables read queries for a connection to a cluster replica node",
    ),
];

fn disabled(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Err(CmdError::custom(msg::CLUSTER_DISABLED))
}
