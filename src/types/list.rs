//! Placeholder list representation (replaced by the chunked list).

use std::collections::VecDeque;

use bytes::Bytes;

#[derive(Debug, Clone, Default)]
pub struct List {
    items: VecDeque<Bytes>,
}

impl List {
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }
    pub fn node_count(&self) -> usize {
        1
    }
    pub fn node_capacity(&self) -> usize {
        self.items.len()
    }
}
