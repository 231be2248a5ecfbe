//! The run lock: a session-level PostgreSQL advisory lock, so that one run at a time works on
//! a database, whichever host or process starts it.

use tokio_postgres::Client;

use crate::error::{DbContext, Error, Result};

/// Session-level advisory lock key: "certanon" in ASCII.
pub const LOCK_KEY: i64 = 0x6365_7274_616e_6f6e;

/// Takes the run lock on `client`'s session, or fails with exit 75 when another run holds it.
pub async fn acquire_lock(client: &Client) -> Result<()> {
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .during("taking the run lock")?
        .get(0);
    if got {
        Ok(())
    } else {
        Err(Error::Locked(format!(
            "PostgreSQL advisory lock {LOCK_KEY:#x}"
        )))
    }
}

/// Releases the run lock explicitly: a backend frees its session locks only once it has noticed
/// the disconnect, and a run started right after this one must not find the lock still held.
pub async fn release_lock(client: &Client) {
    if let Err(e) = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await
    {
        tracing::warn!(error = %e, "could not release the run lock; it ends with the session");
    }
}
