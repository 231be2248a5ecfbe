//! certanon: turns a certificate authority's certificate-information tables into keyed
//! pseudonyms, generalized values, k-anonymous research extracts and suppressed statistics,
//! and enforces retention, without ever changing a certificate record.
//!
//! The modules follow the pipeline in DESIGN.md: `source` → `pseudonymize` → `generalize` →
//! `privacy_gate` → `extract` / `aggregate` → `export` → `ledger`, driven by `run` on the
//! `schedule`, with `retention` beside it.

pub mod aggregate;
pub mod app;
pub mod cluster;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod extract;
pub mod generalize;
pub mod ledger;
pub mod metrics;
pub mod policy;
pub mod privacy_gate;
pub mod pseudonymize;
pub mod record;
pub mod retention;
pub mod run;
pub mod schedule;
pub mod seed;
pub mod source;
pub mod verify;

pub use error::{Error, Result};
