//! Command families: one module per data-type family, each with its handlers
//! and its registration table (`COMMANDS`).

pub mod acl;
pub mod bitops;
pub mod cluster;
pub mod connection;
pub mod dump;
pub mod effects;
pub mod functions;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod keys;
pub mod latency;
pub mod list;
pub mod lolwut;
pub mod memory;
pub mod migrate;
pub mod modules;
pub mod pubsub;
pub mod repl;
pub mod scripting;
pub mod server;
pub mod set;
pub mod slowlog;
pub mod sort;
pub mod stream;
pub mod string;
pub mod tracking;
pub mod transaction;
pub mod zset;

use crate::command::CommandSpec;

/// Every family's table; `CommandTable::new` merges them.
pub static ALL: &[&[CommandSpec]] = &[
    connection::COMMANDS,
    acl::COMMANDS,
    server::COMMANDS,
    keys::COMMANDS,
    string::COMMANDS,
    list::COMMANDS,
    set::COMMANDS,
    hash::COMMANDS,
    memory::COMMANDS,
    zset::COMMANDS,
    geo::COMMANDS,
    sort::COMMANDS,
    stream::COMMANDS,
    dump::COMMANDS,
    transaction::COMMANDS,
    pubsub::COMMANDS,
    repl::COMMANDS,
    scripting::COMMANDS,
    functions::COMMANDS,
    cluster::COMMANDS,
    bitops::COMMANDS,
    hyperloglog::COMMANDS,
    latency::COMMANDS,
    lolwut::COMMANDS,
    migrate::COMMANDS,
    modules::COMMANDS,
    slowlog::COMMANDS,
];
