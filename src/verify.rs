//! `certanon verify`: re-checks an export directory's checksums, k-anonymity and suppression.
