//! Differential privacy for the statistics tables: exact integer noise ([`sampler`]) and the
//! release of one table over its public domain ([`release`]).

mod release;
mod sampler;

pub(crate) use release::{Budgeted, MICRO, release, to_micro};
