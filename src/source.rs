//! Source: one READ ONLY, REPEATABLE READ snapshot, binary COPY out of the contract views, decoded into batches.
