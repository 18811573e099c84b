//! Value representations, one module per type (commands live in `family/`).

pub mod list;
pub mod zset;
