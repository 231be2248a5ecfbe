//! Embedded PostgreSQL: starts a throwaway cluster from the installed `initdb`/`pg_ctl` for the
//! demo, the tests and the benchmark. The cluster listens on a unix socket in its own temporary
//! directory (and, when asked, on 127.0.0.1 with TLS, to test encrypted connections), runs with
//! `fsync=off` (its data is disposable), and is stopped when the
//! `Cluster` is dropped — and by a watchdog process if the owner dies without dropping it, so a
//! killed test run or demo leaves no server behind. PostgreSQL is never downloaded: where the
//! server binaries are missing, the error says which package to install.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, IoContext, Result};

const PORT: u16 = 5432;
const SUPERUSER: &str = "postgres";

/// How to start a cluster beyond the unix-socket default.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Where the cluster's temporary directory goes (the system temp dir when `None`).
    pub parent: Option<PathBuf>,
    /// Server certificate and key (PEM files): the server gets copies it may read, and turns
    /// `ssl` on.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Also listen on 127.0.0.1 at this port (the socket then carries the same number).
    pub tcp_port: Option<u16>,
}

pub struct Cluster {
    // Kept for its Drop: removes the directory after the server has stopped.
    _dir: tempfile::TempDir,
    root: PathBuf,
    bin: PathBuf,
    owner: Option<(u32, u32)>,
    port: u16,
    running: bool,
}

impl Cluster {
    /// Creates and starts a cluster under a new temporary directory in `parent` (the system
    /// temp dir when `None`), reachable only through its unix socket.
    pub fn start(parent: Option<&Path>) -> Result<Cluster> {
        Cluster::start_with(ClusterOptions {
            parent: parent.map(Path::to_path_buf),
            ..ClusterOptions::default()
        })
    }

    pub fn start_with(options: ClusterOptions) -> Result<Cluster> {
        let bin = find_server_binaries()?;
        let dir = match &options.parent {
            Some(p) => tempfile::Builder::new()
                .prefix("certanon-pg.")
                .tempdir_in(p)
                .at(p)?,
            None => tempfile::Builder::new()
                .prefix("certanon-pg.")
                .tempdir()
                .at(std::env::temp_dir())?,
        };
        let root = dir.path().to_path_buf();
        // initdb refuses to run as root, so a root caller hands the cluster to `postgres`.
        let owner = if unsafe { libc::geteuid() } == 0 {
            Some(postgres_user()?)
        } else {
            None
        };
        if let Some((uid, gid)) = owner {
            chown(&root, uid, gid)?;
        }
        let mut cluster = Cluster {
            _dir: dir,
            root,
            bin,
            owner,
            port: options.tcp_port.unwrap_or(PORT),
            running: false,
        };
        cluster.initdb()?;
        let listen = if options.tcp_port.is_some() {
            "127.0.0.1"
        } else {
            ""
        };
        let mut settings = format!(" -c listen_addresses={listen}");
        if let Some((cert, key)) = &options.tls {
            let cert = cluster.server_copy(cert, "server.crt")?;
            let key = cluster.server_copy(key, "server.key")?;
            settings.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert.display(),
                key.display()
            ));
        }
        cluster.pg_ctl_start(&settings)?;
        cluster.running = true;
        cluster.spawn_watchdog();
        Ok(cluster)
    }

    /// The directory holding the server's unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.root
    }

    /// A libpq-style connection string for `dbname` as the superuser.
    pub fn connection_string(&self, dbname: &str) -> String {
        format!(
            "host={} port={} user={SUPERUSER} dbname={dbname}",
            self.root.display(),
            self.port
        )
    }

    /// The port the server listens on (socket name and, when asked for, TCP).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (fast shutdown). Called by Drop; calling it twice is harmless.
    pub(crate) fn stop(&mut self) -> Result<()> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        let data = self.data_dir();
        let status = self
            .command("pg_ctl")
            .args(["stop", "-m", "fast", "-w", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .at(self.bin.join("pg_ctl"))?;
        if !status.success() {
            return Err(Error::Other(format!(
                "pg_ctl stop failed for {}",
                data.display()
            )));
        }
        Ok(())
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn command(&self, program: &str) -> Command {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        cmd.env_remove("PGDATA").env("LC_ALL", "C.UTF-8");
        cmd
    }

    fn initdb(&self) -> Result<()> {
        let out = self
            .command("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(self.data_dir())
            .output()
            .at(self.bin.join("initdb"))?;
        if !out.status.success() {
            return Err(Error::Other(format!(
                "initdb failed in {}: {}",
                self.root.display(),
                last_line(&out.stderr)
            )));
        }
        Ok(())
    }

    /// Copies a file the server must read into the cluster directory, owned by the server's
    /// user with mode 0600 (PostgreSQL refuses a key file others can read).
    fn server_copy(&self, from: &Path, name: &str) -> Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let to = self.root.join(name);
        std::fs::copy(from, &to).at(from)?;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).at(&to)?;
        if let Some((uid, gid)) = self.owner {
            chown(&to, uid, gid)?;
        }
        Ok(to)
    }

    fn pg_ctl_start(&self, settings: &str) -> Result<()> {
        let options = format!(
            "-k {} -p {}{settings} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=50 -c shared_buffers=128MB{}",
            self.root.display(),
            self.port,
            // Lets tests count the statements a run sends; the module ships with the server.
            if self.bin.join("../lib/pg_stat_statements.so").exists() {
                " -c shared_preload_libraries=pg_stat_statements"
            } else {
                ""
            }
        );
        let log = self.root.join("server.log");
        let out = self
            .command("pg_ctl")
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(self.data_dir())
            .arg("-o")
            .arg(options)
            .arg("-l")
            .arg(&log)
            .stdout(Stdio::null())
            .output()
            .at(self.bin.join("pg_ctl"))?;
        if !out.status.success() {
            let server_log = std::fs::read(&log).unwrap_or_default();
            return Err(Error::Other(format!(
                "pg_ctl start failed in {}: {}",
                self.root.display(),
                last_line(&server_log)
            )));
        }
        Ok(())
    }

    /// A detached shell that stops the server once this process is gone, however it ended.
    fn spawn_watchdog(&self) {
        let script = format!(
            // kill -0 would fail with EPERM when the watchdog runs as `postgres` and the owner as root.
            "while [ -d /proc/{pid} ] && ! grep -q '^State:[[:space:]]*Z' /proc/{pid}/status 2>/dev/null; \
             do sleep 1; done; \
             [ -f '{data}/postmaster.pid' ] && '{pg_ctl}' stop -m immediate -D '{data}' >/dev/null 2>&1; \
             rm -rf '{root}'",
            pid = std::process::id(),
            data = self.data_dir().display(),
            pg_ctl = self.bin.join("pg_ctl").display(),
            root = self.root.display(),
        );
        let mut cmd = Command::new("/bin/sh");
        if let Some((uid, gid)) = self.owner {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        // Its own process group, so a Ctrl-C aimed at the owner does not kill the watchdog first.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        // A failed watchdog only loses the cleanup after a crash; Drop still stops the server.
        let _ = cmd
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!("{e}");
        }
    }
}

/// Finds `initdb` and `pg_ctl`: `$PG_BINDIR`, then the Debian layout (newest version first),
/// then `PATH`.
fn find_server_binaries() -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        candidates.push(PathBuf::from(dir));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((v, e.path().join("bin")))
            })
            .collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.0));
        candidates.extend(versions.into_iter().map(|(_, p)| p));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .ok_or_else(|| {
            Error::Other(
                "PostgreSQL server binaries (initdb, pg_ctl) not found: install them \
                 (Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install postgresql-server) \
                 or set PG_BINDIR"
                    .into(),
            )
        })
}

fn postgres_user() -> Result<(u32, u32)> {
    let name = CString::new(SUPERUSER).expect("no NUL in a literal");
    // SAFETY: getpwnam returns a pointer into static storage or NULL; we copy the ids at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(Error::Other(
            "running as root, but there is no `postgres` user to run the embedded PostgreSQL as \
             (initdb refuses root): install the postgresql package or run as another user"
                .into(),
        ));
    }
    // SAFETY: pw is non-null and points to a valid passwd struct.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok((uid, gid))
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).at(path)
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim()
        .to_string()
}
