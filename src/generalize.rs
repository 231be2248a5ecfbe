//! Generalization of quasi-identifiers (prefecture, month, domain class, validity bucket, ...) and their hierarchies.
