//! Integration tests: one binary, real PostgreSQL, real files. See common/mod.rs for the harness.

mod aggregates;
mod cli;
mod common;
mod connect;
mod daemon;
mod database;
mod dp;
mod expiry;
mod extract;
mod faults;
mod files;
mod ledgers;
mod operations;
mod outcomes;
mod package;
mod parquet;
mod report;
mod retention;
mod seed;
mod subjects;
mod tls;
mod verify;
