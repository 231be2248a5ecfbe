//! certanon: turns a certificate authority's certificate-information tables into keyed
//! pseudonyms, generalized values, k-anonymous research extracts and suppressed statistics,
//! and enforces retention, without ever changing a certificate record.
//!
//! The folders follow the pipeline, in the order a row travels through it:
//!
//! - [`source`]: the read-only snapshot, the binary COPY of the contract views, and the
//!   allow-list that classifies every contract column;
//! - [`transform`]: normalization, keyed pseudonyms and generalization of one row into codes;
//! - [`privacy`]: the k-anonymity level search and cell suppression with its audit (pure
//!   computation, no I/O);
//! - [`outputs`]: the research extract, the aggregate tables, the export sink, the manifest
//!   and `verify`;
//! - [`job`]: what a run does around the pipeline: the lock, due tasks, the scan's threads,
//!   the ledger, schedules, retention and metrics;
//! - `phase`: the timings of a run's stages, logged at debug level;
//! - [`commands`]: one function per command of the binary;
//! - [`demo`]: the throwaway PostgreSQL cluster and the synthetic data behind `certanon demo`,
//!   the tests and the benchmark.

pub mod commands;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod job;
pub mod outputs;
mod phase;
pub mod privacy;
pub mod source;
pub mod transform;

pub use error::{Error, Result};
