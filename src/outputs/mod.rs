//! Outputs: what a run publishes. The research extract and the aggregate tables are built from
//! the transformed records, written through the export sink, and re-checked by `verify`.

pub mod aggregate;
pub mod export;
pub mod extract;
pub mod verify;
