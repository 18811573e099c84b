//! Persistence formats: the RDB snapshot (`rdb`) and its checksum (`crc64`).
//!
//! API: `rdb::capture` takes a point-in-time copy of the keyspace (all shards
//! locked once, values cloned), `rdb::encode` turns it into Redis RDB v10
//! bytes off the hot path, `rdb::decode` parses RDB bytes (ours or a real
//! redis-server's) and `rdb::install` replaces the dataset with them.

pub mod crc64;
pub mod rdb;
