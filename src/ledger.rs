//! Run ledger, task state and erasure ledger in the bookkeeping schema.
