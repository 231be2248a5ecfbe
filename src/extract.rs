//! The research extract: spills pseudonymized rows, applies the privacy gate's levels and writes the sorted CSV.
