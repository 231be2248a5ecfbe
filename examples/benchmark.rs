//! The performance benchmark: on one throwaway cluster with N synthetic certificates, the floor
//! (the scan's binary COPY as the job runs it, with its transaction settings, discarded), the same
//! COPY under the server's defaults (a parallel plan, for reference), the pgcrypto baseline (the
//! same COPY with `hmac()` and the generalizations in SQL) and certanon itself (`certanon run
//! --force`, research extract and aggregates, as a child process so its peak memory is known),
//! alternating for R rounds; prints the medians and writes them as JSON.
//!
//! `cargo run --release --example benchmark -- --rows 1000000 [--rounds 3] [--json FILE]`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Parser;
use futures_util::StreamExt;
use serde_json::json;

use certanon::db::{self, ConnectOptions};
use certanon::demo::cluster::Cluster;
use certanon::error::{DbContext, Error, IoContext, Result};
use certanon::source::{SCAN_COPY_SQL, SCAN_SQL, Snapshot};

#[derive(Parser, Debug)]
#[command(about = "certanon vs. the COPY floor vs. pgcrypto, on synthetic data")]
struct Args {
    /// Certificates to seed.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Rounds of (floor, pgcrypto, certanon); the medians are reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the JSON results go (default: bench/results-<rows>.json in the repository).
    #[arg(long)]
    json: Option<PathBuf>,
    /// The certanon binary to measure (default: built from this tree, release profile).
    #[arg(long)]
    certanon: Option<PathBuf>,
    /// Measure an existing database that already holds the reference schema and data (and
    /// may get pgcrypto) instead of seeding a throwaway cluster; --rows then only labels the
    /// results.
    #[arg(long)]
    database_url: Option<String>,
}

const DB: &str = "certanon_bench";

fn main() {
    certanon::commands::init_logging("warn", false);
    if let Err(e) = bench(Args::parse()) {
        eprintln!("benchmark: {e}");
        std::process::exit(1);
    }
}

fn bench(args: Args) -> Result<()> {
    if args.rounds == 0 {
        return Err(Error::Usage("--rounds must be at least 1".into()));
    }
    let binary = match &args.certanon {
        Some(b) => b.clone(),
        None => build_certanon()?,
    };
    let work = Workspace::new()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))?;
    let (cluster, url) = match &args.database_url {
        Some(url) => (None, url.clone()),
        None => {
            eprintln!("starting a throwaway PostgreSQL cluster");
            let cluster = Cluster::start(None)?;
            let url = cluster.connection_string(DB);
            rt.block_on(prepare(&cluster, &url, args.rows, args.seed))?;
            (Some(cluster), url)
        }
    };
    let server_version = rt.block_on(server_version(&url))?;
    let rounds = Rounds::measure(&rt, &args, &work, &binary, &url)?;
    drop(cluster);

    let medians = rounds.medians();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    print!("{}", medians.table(&args, cores, &server_version));
    let results = json!({
        "rows": args.rows,
        "rounds": args.rounds,
        "seed": args.seed,
        "cores": cores,
        "postgresql": server_version,
        "median": medians.json(args.rows as f64),
        "rounds_detail": rounds.json(),
    });
    write_results(&args, &results)
}

/// The benchmark's scratch directory: an HMAC key, a configuration and the export root.
struct Workspace {
    /// Removed on drop.
    _dir: tempfile::TempDir,
    key_hex: String,
    export_root: PathBuf,
    config_file: PathBuf,
}

impl Workspace {
    fn new() -> Result<Workspace> {
        let dir = tempfile::Builder::new()
            .prefix("certanon-bench.")
            .tempdir()
            .at(std::env::temp_dir())?;
        let key_file = dir.path().join("hmac-key");
        certanon::transform::pseudonymize::keygen(&key_file)?;
        let key_hex = hex::encode(std::fs::read(&key_file).at(&key_file)?);
        let export_root = dir.path().join("exports");
        let config_file = dir.path().join("certanon.toml");
        std::fs::write(&config_file, config(&key_file, &export_root)).at(&config_file)?;
        Ok(Workspace {
            _dir: dir,
            key_hex,
            export_root,
            config_file,
        })
    }
}

/// Every round's measurements.
#[derive(Default)]
struct Rounds {
    floor: Vec<Copied>,
    defaults: Vec<Copied>,
    pgcrypto: Vec<Copied>,
    runs: Vec<Child>,
}

impl Rounds {
    /// Runs (floor, server defaults, pgcrypto, certanon) `args.rounds` times, alternating.
    fn measure(
        rt: &tokio::runtime::Runtime,
        args: &Args,
        work: &Workspace,
        binary: &Path,
        url: &str,
    ) -> Result<Rounds> {
        let pgcrypto_sql = format!(
            "COPY ({}) TO STDOUT (FORMAT binary)",
            pgcrypto_query(&work.key_hex)
        );
        let mut rounds = Rounds::default();
        for round in 1..=args.rounds {
            let a = rt.block_on(copy_floor(url))?;
            eprintln!("round {round}: floor    {:7.2} s", a.seconds);
            let d = rt.block_on(copy_out(url, SCAN_COPY_SQL))?;
            eprintln!("round {round}: defaults {:7.2} s", d.seconds);
            let b = rt.block_on(copy_out(url, &pgcrypto_sql))?;
            eprintln!("round {round}: pgcrypto {:7.2} s", b.seconds);
            let c = run_certanon(binary, &work.config_file, url)?;
            eprintln!(
                "round {round}: certanon {:7.2} s, peak RSS {:.1} MiB, CPU {:.2} s",
                c.seconds,
                c.max_rss_kib as f64 / 1024.0,
                c.cpu_seconds
            );
            // Each run publishes a full extract; only the timing is wanted.
            std::fs::remove_dir_all(&work.export_root).at(&work.export_root)?;
            rounds.floor.push(a);
            rounds.defaults.push(d);
            rounds.pgcrypto.push(b);
            rounds.runs.push(c);
        }
        Ok(rounds)
    }

    fn medians(&self) -> Medians {
        Medians {
            a: median(self.floor.iter().map(|r| r.seconds)),
            d: median(self.defaults.iter().map(|r| r.seconds)),
            b: median(self.pgcrypto.iter().map(|r| r.seconds)),
            c: median(self.runs.iter().map(|r| r.seconds)),
            rss_mib: median(self.runs.iter().map(|r| r.max_rss_kib as f64 / 1024.0)),
            cpu: median(self.runs.iter().map(|r| r.cpu_seconds)),
        }
    }

    fn json(&self) -> Vec<serde_json::Value> {
        let rounds = self.floor.iter().zip(&self.defaults).zip(&self.pgcrypto);
        rounds
            .zip(&self.runs)
            .map(|(((a, d), b), c)| {
                json!({
                    "floor_seconds": a.seconds,
                    "floor_bytes": a.bytes,
                    "floor_server_defaults_seconds": d.seconds,
                    "pgcrypto_seconds": b.seconds,
                    "pgcrypto_bytes": b.bytes,
                    "certanon_seconds": c.seconds,
                    "certanon_peak_rss_kib": c.max_rss_kib,
                    "certanon_cpu_seconds": c.cpu_seconds,
                })
            })
            .collect()
    }
}

/// Medians over the rounds: seconds of (a) the floor, (a') the same COPY under the server's
/// defaults, (b) pgcrypto and (c) certanon, and certanon's peak memory and CPU time.
struct Medians {
    a: f64,
    d: f64,
    b: f64,
    c: f64,
    rss_mib: f64,
    cpu: f64,
}

impl Medians {
    /// The results as a Markdown table with the ratios under it.
    fn table(&self, args: &Args, cores: usize, server_version: &str) -> String {
        let Medians {
            a,
            d,
            b,
            c,
            rss_mib,
            cpu,
        } = *self;
        let rows = args.rows as f64;
        let mut table = format!(
            "certanon benchmark: {} certificates, {} rounds (medians), {cores} cores, \
             PostgreSQL {server_version}\n\n\
             | {:<38} | {:>8} | {:>10} |\n|{:-<40}|{:->9}:|{:->11}:|\n",
            args.rows, args.rounds, "measure", "seconds", "rows/s", "", "", ""
        );
        for (what, seconds) in [
            ("(a) floor: the job's COPY, discarded", a),
            ("(a') same COPY, server defaults", d),
            ("(b) pgcrypto: COPY with hmac() + SQL", b),
            ("(c) certanon run: extract + aggregates", c),
        ] {
            table.push_str(&format!(
                "| {what:<38} | {seconds:>8.2} | {:>10.0} |\n",
                rows / seconds
            ));
        }
        table.push_str(&format!(
            "\nc/a = {:.2}   b/c = {:.2}   certanon peak RSS = {rss_mib:.1} MiB   \
             certanon CPU = {cpu:.2} s   (c/a' = {:.2})\n",
            c / a,
            b / c,
            c / d
        ));
        table
    }

    fn json(&self, rows: f64) -> serde_json::Value {
        let Medians {
            a,
            d,
            b,
            c,
            rss_mib,
            cpu,
        } = *self;
        json!({
            "floor_seconds": a,
            "floor_server_defaults_seconds": d,
            "pgcrypto_seconds": b,
            "certanon_seconds": c,
            "c_over_a": c / a,
            "c_over_floor_server_defaults": c / d,
            "b_over_c": b / c,
            "floor_rows_per_second": rows / a,
            "pgcrypto_rows_per_second": rows / b,
            "certanon_rows_per_second": rows / c,
            "certanon_peak_rss_mib": rss_mib,
            "certanon_cpu_seconds": cpu,
        })
    }
}

/// Writes the results as pretty JSON to `--json`, by default bench/results-<rows>.json in the
/// repository.
fn write_results(args: &Args, results: &serde_json::Value) -> Result<()> {
    let json_path = args.json.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("bench")
            .join(format!("results-{}.json", args.rows))
    });
    if let Some(dir) = json_path.parent() {
        std::fs::create_dir_all(dir).at(dir)?;
    }
    let mut text = serde_json::to_string_pretty(results)
        .map_err(|e| Error::Other(format!("cannot encode the results: {e}")))?;
    text.push('\n');
    std::fs::write(&json_path, text).at(&json_path)?;
    println!("results written to {}", json_path.display());
    Ok(())
}

/// Builds the certanon binary with this example's profile and returns its path (beside the
/// example's own directory).
fn build_certanon() -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--quiet", "--bin", "certanon"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let status = cmd.status().at(PathBuf::from(&cargo))?;
    if !status.success() {
        return Err(Error::Other("building the certanon binary failed".into()));
    }
    let exe = std::env::current_exe().at("the benchmark executable")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| Error::Other("the benchmark runs outside a cargo target dir".into()))?;
    Ok(profile_dir.join("certanon"))
}

fn config(key_file: &Path, export_root: &Path) -> String {
    format!(
        r#"[database]
sslmode = "disable"

[keys]
hmac_key_file = "{key}"
key_id = "bench"

[export]
root = "{root}"

[privacy]
k = 5
max_suppression = 0.05

[tasks.research_extract]
kind = "research_extract"
mode = "pseudonymous"
schedule = "0 3 1 */3 *"

[tasks.monthly_statistics]
kind = "aggregates"
schedule = "30 2 1 * *"
"#,
        key = key_file.display(),
        root = export_root.display()
    )
}

/// Creates, fills and analyzes the benchmark database.
async fn prepare(cluster: &Cluster, url: &str, rows: u64, seed: u64) -> Result<()> {
    let admin = db::connect(&ConnectOptions::plain(
        cluster.connection_string("postgres"),
    ))
    .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {DB}"))
        .await
        .during("creating the benchmark database")?;
    let mut client = db::connect(&ConnectOptions::plain(url)).await?;
    db::init(&mut client, true).await?;
    eprintln!("seeding {rows} certificates");
    let started = Instant::now();
    let options = certanon::demo::seed::SeedOptions {
        certificates: rows,
        seed,
        ..Default::default()
    };
    certanon::demo::seed::seed(&mut client, &options).await?;
    client
        .batch_execute("VACUUM ANALYZE")
        .await
        .during("VACUUM ANALYZE")?;
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Makes sure pgcrypto is there and returns the server version.
async fn server_version(url: &str) -> Result<String> {
    let client = db::connect(&ConnectOptions::plain(url)).await?;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        .await
        .during("installing pgcrypto (package postgresql-contrib)")?;
    let version: String = client
        .query_one("SHOW server_version", &[])
        .await
        .during("reading the server version")?
        .get(0);
    Ok(version)
}

struct Copied {
    seconds: f64,
    bytes: u64,
}

/// The floor: the scan's COPY exactly as the job runs it (its snapshot transaction and
/// settings), streamed and discarded; the clock includes connecting.
async fn copy_floor(url: &str) -> Result<Copied> {
    let started = Instant::now();
    let mut client = db::connect(&ConnectOptions::plain(url)).await?;
    let snapshot = Snapshot::begin(&mut client).await?;
    discard(started, snapshot.copy_out().await?).await
}

/// One COPY TO STDOUT under the server's defaults, streamed and discarded; the clock includes
/// connecting.
async fn copy_out(url: &str, sql: &str) -> Result<Copied> {
    let started = Instant::now();
    let client = db::connect(&ConnectOptions::plain(url)).await?;
    let stream = client
        .copy_out(sql)
        .await
        .during("starting the benchmark COPY")?;
    discard(started, stream).await
}

async fn discard(started: Instant, stream: tokio_postgres::CopyOutStream) -> Result<Copied> {
    let mut stream = std::pin::pin!(stream);
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        bytes += chunk.during("reading the benchmark COPY")?.len() as u64;
    }
    Ok(Copied {
        seconds: started.elapsed().as_secs_f64(),
        bytes,
    })
}

/// The scan as a DBA would write it with pgcrypto: the same joins, every identifier column
/// HMACed after the normalization SQL offers (NFKC, trim, case, digits), and the
/// generalizations certanon makes (month, validity bucket, domain class, prefecture).
fn pgcrypto_query(key_hex: &str) -> String {
    let from = SCAN_SQL.find("\n  FROM ").map_or("", |at| &SCAN_SQL[at..]);
    let key = format!("'\\x{key_hex}'::bytea");
    let hmac = |class: &str, expr: &str| {
        format!("hmac(convert_to('{class}' || chr(31) || {expr}, 'UTF8'), {key}, 'sha256')")
    };
    let email = |col: &str| hmac("email", &format!("lower(btrim(normalize({col}, NFKC)))"));
    let name = |class: &str, col: &str| {
        hmac(
            class,
            &format!("lower(regexp_replace(btrim(normalize({col}, NFKC)), '\\s+', ' ', 'g'))"),
        )
    };
    let columns = [
        hmac("certificate", "c.certificate_id::text"),
        hmac("subscriber", "s.subscriber_id::text"),
        email("s.email"),
        hmac(
            "phone",
            "regexp_replace(normalize(s.phone, NFKC), '[^0-9+]', '', 'g')",
        ),
        name("person", "s.person_name"),
        name("organization", "s.organization_name"),
        email("a.applicant_email"),
        email("a.approver_email"),
        hmac("acme_account", "acc.acme_account_id::text"),
        email("acc.contact_email"),
        "s.kind".into(),
        "a.channel".into(),
        "c.validation_type".into(),
        "date_trunc('month', coalesce(c.issued_at, c.not_before))".into(),
        "CASE WHEN c.not_after IS NULL OR c.not_before IS NULL THEN 'unknown' \
              WHEN c.not_after - c.not_before <= interval '47 days' THEN '<=47d' \
              WHEN c.not_after - c.not_before <= interval '100 days' THEN '<=100d' \
              WHEN c.not_after - c.not_before <= interval '200 days' THEN '<=200d' \
              WHEN c.not_after - c.not_before <= interval '398 days' THEN '<=398d' \
              ELSE '>398d' END"
            .into(),
        "c.key_algorithm || '-' || c.key_size".into(),
        "CASE WHEN lower(c.common_name) NOT LIKE '%.jp' THEN 'other' \
              WHEN split_part(reverse(lower(c.common_name)), '.', 2) \
                   IN ('oc', 'ca', 'og', 'ro', 'en', 'rg', 'de', 'gl') \
                THEN reverse(split_part(reverse(lower(c.common_name)), '.', 2)) || '.jp' \
              ELSE 'general.jp' END"
            .into(),
        "coalesce(substring(normalize(s.postal_address, NFKC) \
              from '^(北海道|東京都|京都府|大阪府|[^都道府県]{2,3}県)'), \
              substring(s.postal_code from '^[0-9]{3}'))"
            .into(),
        "coalesce(r.reason_code::text, CASE WHEN r.revoked_at IS NULL THEN 'not_revoked' \
              ELSE 'unspecified' END)"
            .into(),
    ];
    format!("SELECT {}{from}", columns.join(",\n       "))
}

struct Child {
    seconds: f64,
    max_rss_kib: i64,
    cpu_seconds: f64,
}

/// `certanon run --force` as a child; its peak RSS and CPU time come from wait4's rusage.
fn run_certanon(binary: &Path, config: &Path, url: &str) -> Result<Child> {
    let started = Instant::now();
    let child = Command::new(binary)
        .arg("--config")
        .arg(config)
        .args(["-q", "run", "--force"])
        .env("CERTANON_DATABASE_URL", url)
        .spawn()
        .at(binary)?;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our child, not yet reaped; status and usage are valid out-pointers.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    if pid < 0 {
        return Err(Error::Other(format!(
            "waiting for certanon: {}",
            std::io::Error::last_os_error()
        )));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(Error::Other(format!(
            "certanon run failed (wait status {status:#x})"
        )));
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Child {
        seconds,
        max_rss_kib: usage.ru_maxrss,
        cpu_seconds: secs(usage.ru_utime) + secs(usage.ru_stime),
    })
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
