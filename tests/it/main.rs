//! Integration tests: one binary, real PostgreSQL, real files. See common/mod.rs for the harness.

mod common;
mod database;
mod aggregates;
mod extract;
mod retention;
mod seed;
