//! `certanon demo`: the main job on an embedded default cluster with synthetic data.
