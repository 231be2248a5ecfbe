//! Outputs: what a run publishes. The research extract and the aggregate tables are built from
//! the transformed records, written through the export sink with their manifest (the tables
//! also as a statistics report), and re-checked by `verify`.

pub(crate) mod aggregate;
pub(crate) mod columnar;
pub(crate) mod export;
pub(crate) mod extract;
pub(crate) mod manifest;
pub(crate) mod report;
pub(crate) mod schema;
pub(crate) mod verify;
