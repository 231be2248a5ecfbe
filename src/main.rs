//! The `certanon` binary: parses arguments, sets up logging, calls the library and maps its
//! error to a sysexits exit code, with mimalloc as its allocator. Everything else lives in the
//! library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use certanon::error::exit;
use certanon::{Error, commands};

// The run allocates and frees many short-lived buffers on several threads (batches, rendered
// lines, Parquet pages); mimalloc keeps freed memory for reuse instead of handing it back to
// the kernel and faulting it in again. On 1M certificates: about 0.75 CPU s less for about
// 45 MiB more peak memory (see the README's benchmark section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "certanon",
    version,
    about = "Pseudonymize, generalize and publish k-anonymous extracts and statistics from a CA's \
             certificate-information database; enforce retention; never change a certificate.",
    after_help = "Examples:\n  \
      certanon demo                                  # everything on a throwaway PostgreSQL\n  \
      certanon --config /etc/certanon/certanon.toml run\n  \
      certanon run --task research_extract --force --dry-run\n  \
      certanon verify /var/lib/certanon/exports/research_extract/20261101T030000Z-1a2b\n  \
      certanon schedule next '0 3 1 */3 *' --count 4\n\n\
      Exit codes: 0 ok, 2 usage, 65 verify failed, 69 database unreachable, 75 locked (try later),\n  \
      78 configuration/key/schema contract, 143 stopped by SIGTERM, 1 other."
)]
struct Cli {
    /// Config file [default: $CERTANON_CONFIG, else /etc/certanon/certanon.toml]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL, for the commands that connect (db init, seed, run, status, daemon)
    /// [default: $CERTANON_DATABASE_URL, else database.url_file]; prefer the environment or a
    /// file: a password here shows in `ps`
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Log and output format: human text, or one JSON object per line for journald, log
    /// shippers and scripts
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// More log detail (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,
    /// Only warnings and errors
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Main job on an embedded default: start a throwaway PostgreSQL, load synthetic data, run
    /// every task, print a summary, stop the cluster
    Demo {
        /// Certificates to generate
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
        /// Where exports go
        #[arg(long, default_value = "demo-output")]
        dir: PathBuf,
    },
    /// Database schema management
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Load deterministic synthetic data into the (empty) reference schema
    Seed {
        /// Certificates to generate (with their subscribers, applications, accounts, revocations)
        #[arg(long)]
        rows: u64,
        /// Random seed: the same seed gives the same rows
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        db: Database,
    },
    /// Run the tasks that are due (or those named)
    #[command(
        after_help = "Examples:\n  certanon run\n  certanon run --task research_extract --force\n  \
        certanon run --task retention --dry-run"
    )]
    Run {
        /// Run only this task (repeatable)
        #[arg(long = "task", value_name = "NAME")]
        tasks: Vec<String>,
        /// Ignore schedules: run the tasks now
        #[arg(long)]
        force: bool,
        /// Read and report (rows, suppression, what retention would do); write nothing
        #[arg(long)]
        dry_run: bool,
        /// Let this run's retention erase up to N subjects even beyond the task's
        /// max_erase_per_run (give the number the refused run reported)
        #[arg(long, value_name = "N")]
        confirm_erase: Option<u64>,
        #[command(flatten)]
        db: Database,
    },
    /// Last runs and next due time of every task (times in the config's time_zone)
    Status {
        #[command(flatten)]
        db: Database,
    },
    /// Re-check an export: checksums, k, suppression, no identifiers
    #[command(
        after_help = "A directory that does not exist or holds no export is a failed check too \
        (exit 65).\n\nExample:\n  certanon verify --min-k 10 ./received/20261101T030000Z-1a2b"
    )]
    Verify {
        /// The export directory (<export root>/<task>/<run id>)
        dir: PathBuf,
        /// Fail unless every file is k-anonymous (or suppressed) for at least this k, whatever
        /// k the manifest states
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        min_k: Option<u64>,
        /// Also check the extract's levels against those the bookkeeping schema recorded
        /// (never finer than an earlier release of the task under its key); without it,
        /// verify reads the files alone
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Write a new random key file with mode 0600 (refuses to overwrite)
    Keygen {
        /// Where to write it [default: ./hmac-key]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Schedules
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Stay up and run tasks when their schedules fire; stop cleanly on SIGTERM
    Daemon {
        #[command(flatten)]
        db: Database,
    },
}

/// The URL of the commands that connect; the same flag before the command name is accepted too.
#[derive(Args)]
struct Database {
    /// Database URL [default: $CERTANON_DATABASE_URL, else database.url_file]; prefer the
    /// environment or a file: a password here shows in `ps`
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum ScheduleCommand {
    /// Print the next fire times of a crontab(5) expression (UTC unless the config names a zone)
    #[command(
        after_help = "A bad expression is a usage error (exit 2).\n\nExample:\n  \
        certanon schedule next '0 3 1 */3 *' --count 4"
    )]
    Next {
        /// Five fields: minute hour day-of-month month day-of-week, or @daily etc.
        expr: String,
        /// How many fire times
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Install or upgrade the bookkeeping schema `certanon` (safe to run twice)
    Init(DbInit),
}

#[derive(Args)]
struct DbInit {
    /// Also install the reference schema `certinfo` with its contract views `certanon_src`
    #[arg(long)]
    reference_schema: bool,
    #[command(flatten)]
    db: Database,
}

fn main() -> ExitCode {
    if let Err(e) = commands::refuse_core_dumps() {
        return report(&e);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let json = matches!(cli.log_format, LogFormat::Json);
    commands::init_logging(level, json);
    let result = dispatch(cli.command, cli.config, cli.database_url, json);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// Runs the command. `url` is `--database-url` given before the command name: the commands
/// that connect take it (their own flag wins), the others refuse it rather than ignore it.
fn dispatch(
    command: Command,
    config: Option<PathBuf>,
    url: Option<String>,
    json: bool,
) -> Result<(), Error> {
    let global = |db: Database| commands::Global {
        config: config.clone(),
        database_url: db.database_url.or_else(|| url.clone()),
        json,
    };
    let never_connects = |name: &str| match &url {
        Some(_) => Err(Error::Usage(format!(
            "--database-url: `{name}` does not connect to a database"
        ))),
        None => Ok(()),
    };
    let offline = commands::Global {
        config: config.clone(),
        database_url: None,
        json,
    };
    match command {
        Command::Demo { rows, dir } => {
            never_connects("demo")?;
            commands::demo(&offline, rows, &dir)
        }
        Command::Db {
            command: DbCommand::Init(args),
        } => commands::db_init(&global(args.db), args.reference_schema),
        Command::Seed { rows, seed, db } => commands::seed(&global(db), rows, seed),
        Command::Run {
            tasks,
            force,
            dry_run,
            confirm_erase,
            db,
        } => commands::run(
            &global(db),
            &certanon::job::RunOptions {
                tasks,
                force,
                dry_run,
                confirm_erase,
            },
        ),
        Command::Status { db } => commands::status(&global(db)),
        Command::Verify {
            dir,
            min_k,
            database_url,
        } => commands::verify(&global(Database { database_url }), &dir, min_k),
        Command::Keygen { out } => {
            never_connects("keygen")?;
            commands::keygen(out.as_deref())
        }
        Command::Schedule {
            command: ScheduleCommand::Next { expr, count },
        } => {
            never_connects("schedule")?;
            commands::schedule_next(&offline, &expr, count)
        }
        Command::Daemon { db } => commands::daemon(&global(db)),
    }
}

fn report(e: &Error) -> ExitCode {
    eprintln!("certanon: {e}");
    ExitCode::from(e.exit_code() as u8)
}
