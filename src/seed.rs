//! Deterministic, realistic synthetic data for the reference schema, loaded with binary COPY.
