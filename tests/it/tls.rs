//! TLS to the database with real certificates: a server certificate signed by the configured
//! CA is accepted, one signed by another CA is refused with one line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use certanon::db::{ConnectOptions, SslMode, UrlSource};

use crate::common::{Setup, certanon_cmd};
use crate::operations::nonempty_lines;

/// A CA and a server certificate for `localhost` signed by it, made with the openssl CLI.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in ["ca", "other-ca"] {
        let mut args = vec!["req", "-x509", "-days", "2", "-subj"];
        let subject = format!("/CN=certanon test {ca}");
        args.push(&subject);
        args.extend(ec);
        let (key, cert) = (format!("{ca}.key"), format!("{ca}.pem"));
        args.extend([
            "-keyout",
            &key,
            "-out",
            &cert,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&args);
    }
    let mut args = vec!["req", "-subj", "/CN=localhost"];
    args.extend(ec);
    args.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&args);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("other-ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_the_configured_ca_works_and_a_wrong_ca_is_refused() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, other_ca, cert, key) = make_certificates(certs.path());
    let port = free_port();
    let _cluster =
        certanon::demo::cluster::Cluster::start_with(certanon::demo::cluster::ClusterOptions {
            tls: Some((cert, key)),
            tcp_port: Some(port),
            ..Default::default()
        })
        .expect("start a TLS cluster");
    let url = format!("host=localhost port={port} user=postgres dbname=postgres");
    let tls_config = |ca: &Path| {
        format!(
            "[database]\nsslmode = \"require\"\nca_file = \"{}\"\nconnect_timeout_secs = 5\n",
            ca.display()
        )
    };

    let setup = Setup::new(&tls_config(&ca));
    let config = setup.config.to_str().unwrap();
    let (code, _, stderr) = certanon_cmd(
        &["--config", config, "--database-url", &url, "db", "init"],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");

    let client = certanon::db::connect(&ConnectOptions {
        url: url.clone(),
        url_source: UrlSource::Flag,
        sslmode: Some(SslMode::Require),
        ca_file: Some(ca.clone()),
        connect_timeout: Duration::from_secs(5),
    })
    .await
    .expect("connect with TLS");
    let ssl: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl, "the server saw a plain connection");
    let installed: i64 = client
        .query_one("SELECT count(*) FROM certanon.schema_version", &[])
        .await
        .unwrap()
        .get(0);
    assert!(installed > 0, "db init over TLS installed nothing");

    let wrong = Setup::new(&tls_config(&other_ca));
    let config = wrong.config.to_str().unwrap();
    let (code, _, stderr) = certanon_cmd(
        &["--config", config, "--database-url", &url, "db", "init"],
        &[],
    );
    assert_ne!(code, 0, "{stderr}");
    assert_ne!(code, 101, "panicked: {stderr}");
    let lines = nonempty_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("certanon: "), "{stderr}");
    assert!(lines[0].to_lowercase().contains("certificate"), "{stderr}");
}
