//! Differential privacy for the statistics tables: exact integer noise ([`sampler`]).

mod sampler;

pub(crate) use sampler::{Ratio, discrete_gaussian, discrete_laplace};
