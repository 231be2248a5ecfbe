//! Runs tasks: decides what is due, holds the advisory lock, records outcomes; also the daemon loop.
