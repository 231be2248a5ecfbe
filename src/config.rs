//! Configuration: loads certanon.toml with the documented keys and precedence, and reports every problem with file, line and key.
