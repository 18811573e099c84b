//! Value representations, one module per type (commands live in `family/`).

pub mod dict;
pub mod geohash;
pub mod hash;
pub mod hll;
pub mod ldouble;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;
