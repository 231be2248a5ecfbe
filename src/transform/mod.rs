//! Transform: one scanned row becomes codes. Text is normalized, personal values become keyed
//! pseudonyms, quasi-identifiers are generalized to their finest released level.

pub mod generalize;
pub(crate) mod municipality;
pub mod pseudonymize;
pub mod record;
