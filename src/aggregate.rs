//! Aggregate statistics tables computed from the same scan as the extract.
