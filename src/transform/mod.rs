//! Transform: one scanned row becomes codes. Text is normalized, personal values become keyed
//! pseudonyms, quasi-identifiers are generalized to their finest released level.
//!
//! - [`record`]: one row into its [`record::Record`], the only thing the outputs see;
//! - [`normalize`] (with [`legal_form`]) and [`pseudonymize`]: personal values into keyed
//!   pseudonyms;
//! - [`geography`] (with [`municipality`]), [`period`], [`domain`], [`key_type`], [`revocation`], [`category`]: each
//!   quasi-identifier into its finest code;
//! - [`generalize`]: the hierarchies the privacy gate climbs, and the published labels.

pub(crate) mod category;
pub mod domain;
pub(crate) mod generalize;
pub mod geography;
pub(crate) mod key_type;
pub(crate) mod legal_form;
pub(crate) mod municipality;
pub(crate) mod normalize;
pub(crate) mod period;
pub mod pseudonymize;
pub mod record;
pub(crate) mod revocation;
