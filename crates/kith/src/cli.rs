//! The command line (SPEC §7 command reference).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (database schema ", "6", ")");

/// kith: see and tend the health of your community.
///
/// kith imports platform exports (and live events) into one database per community, unifies
/// members across platforms, and computes health metrics that are defined precisely.
///
/// Configuration precedence: command-line flags > KITH_* environment variables > the
/// configuration file (kith.toml) > defaults.
///
/// Exit codes: 0 success, 1 failure, 2 usage error, 3 bad input data (nothing stored),
/// 4 database unreachable or of a newer schema.
#[derive(Debug, Parser)]
#[command(name = "kith", version = LONG_VERSION, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The community's database: `sqlite:PATH`, a bare PATH, `postgres://...`, or a PostgreSQL
    /// key=value connection string (`host=... dbname=...`)
    /// [env: KITH_DATABASE] [default: ./kith.db]
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,

    /// The configuration file [env: KITH_CONFIG] [default: ./kith.toml, if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only errors (no progress bars, no summaries)
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// More log output (repeat for more); KITH_LOG sets a filter (e.g. `kith=debug`)
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or migrate a database; set the community's name and time zone
    Init(InitArgs),
    /// Generate a realistic community into its own database and serve it
    ///
    /// Uses ./kith-demo.db (replaced on every run) unless --database is given on this command
    /// line; KITH_DATABASE and the configuration file are ignored, so the demo never touches
    /// your data.
    Demo(DemoArgs),
    /// Import platform exports (one transaction: all or nothing)
    ///
    /// Re-importing the same or an overlapping export adds nothing twice; changed records are
    /// updated. Prints the import audit: what was read, imported, updated and skipped, and why.
    Import(ImportArgs),
    /// List sources with their last import audit, or delete one
    Sources(SourcesArgs),
    /// The attachment scorecard of a period, with every figure's definition
    ///
    /// Every "now" is --as-of (default: the latest activity in scope), so historical exports give
    /// meaningful answers. `--explain METRIC` prints a metric's definition and its reference SQL
    /// (the query that computes the same numbers over the canonical schema).
    Report(ReportArgs),
    /// Members: list, show, merge candidates, merge and unmerge
    Members(MembersArgs),
    /// Write stored data out (nothing is locked in)
    Export(ExportArgs),
    /// Take a consistent copy of the database while it stays in use
    ///
    /// SQLite: a database file. PostgreSQL: a pg_dump custom-format archive.
    Backup(BackupArgs),
    /// Replace the database with a backup taken by `kith backup`
    ///
    /// Stop servers using the database first. SQLite: the file is replaced atomically.
    /// PostgreSQL: pg_restore into the database (existing kith tables are replaced).
    Restore(RestoreArgs),
    /// Serve the web app and HTTP API; newly imported data shows without a restart
    Serve(ServeArgs),
    /// Score messages again: sentiment, hostility, intents and language (SPEC §4.5)
    ///
    /// Imports score what they bring (unless --no-score) and `kith serve` scores new messages
    /// in the background, so this is for when the scoring model changed (a newer kith), or to
    /// recompute everything with --all.
    Rescore(RescoreArgs),
    /// Accounts of the web app: list, add, set a role, reset a password, remove
    ///
    /// For operators who are locked out or who script: works on the database directly, no
    /// login needed. Passwords are never taken from the command line: they are asked on the
    /// terminal without echo, or read from standard input with --password-stdin.
    Users(UsersArgs),
}

#[derive(Debug, Args)]
pub struct RescoreArgs {
    /// Recompute every message, not only those an older model version scored (or none has)
    #[arg(long)]
    pub all: bool,
    /// Scoring threads [default: the number of cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The community's name
    #[arg(long)]
    pub name: Option<String>,
    /// IANA time zone for calendar days, weeks and months (e.g. Europe/Berlin) [env: KITH_TIME_ZONE]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many activities to generate (1,000 to 10,000,000)
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1_000..=10_000_000))]
    pub activities: u64,
    /// Seed: the same seed generates the same community
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Address to serve on [env: KITH_BIND] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Generate and store only; do not serve
    #[arg(long)]
    pub no_serve: bool,
    /// Also write the generated community as an export in FORMAT into DIR (for import benchmarks)
    #[arg(long, num_args = 2, value_names = ["FORMAT", "DIR"])]
    pub write_export: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export format (`kith import --list-formats` lists them)
    #[arg(required_unless_present = "list_formats")]
    pub format: Option<String>,
    /// Files, folders or archives to import
    #[arg(required_unless_present = "list_formats")]
    pub paths: Vec<PathBuf>,
    /// The source's name (default: derived from the export and printed)
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Base URL of the platform, for links back to it
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Run the whole import and print its audit, but store nothing
    #[arg(long)]
    pub dry_run: bool,
    /// List the formats this kith reads
    #[arg(long)]
    pub list_formats: bool,
    /// Do not score the imported messages afterwards (run `kith rescore` later; `kith serve`
    /// also scores them in the background)
    #[arg(long)]
    pub no_score: bool,
}

#[derive(Debug, Args)]
pub struct SourcesArgs {
    #[command(subcommand)]
    pub action: Option<SourcesAction>,
}

#[derive(Debug, Subcommand)]
pub enum SourcesAction {
    /// List sources with their last audit (the default)
    List,
    /// Remove a source and everything only it contributed
    Delete {
        /// The source's name
        name: String,
    },
    /// Show the import audits of a source (or of all), newest first, with skipped records
    Audits {
        /// The source's name
        name: Option<String>,
        /// How many audits
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Csv,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportPeriod {
    Day,
    Week,
    Month,
    Quarter,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day of the report (YYYY-MM-DD, in the time zone) [default: 89 days before --to]
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day of the report, inclusive (YYYY-MM-DD) [default: the day of as-of]
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// "Now" for every metric: RFC 3339 (2018-10-01T00:00:00Z) or a date (its end)
    /// [default: the latest activity in scope]
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Calendar period of the per-period tables
    #[arg(long, value_enum, default_value_t = ReportPeriod::Month)]
    pub period: ReportPeriod,
    /// IANA time zone for days, weeks and months [default: the community's]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Only these sources (repeat for several)
    #[arg(long, value_name = "NAME")]
    pub source: Vec<String>,
    /// Only these channels, by platform channel id (repeat for several)
    #[arg(long, value_name = "ID")]
    pub channel: Vec<String>,
    /// Count team members' activity as community activity
    #[arg(long)]
    pub include_team: bool,
    /// Count bots' activity
    #[arg(long)]
    pub include_bots: bool,
    /// Output format (`--json` is `--format json`)
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show members and messages by id only, without names or message texts (text and HTML;
    /// JSON and CSV carry ids alone), for a report to share
    #[arg(long, alias = "anonymize")]
    pub anonymise: bool,
    /// Print a metric's definition and its reference SQL (or how it is verified without)
    #[arg(long, value_name = "METRIC")]
    pub explain: Option<String>,
    /// List the metric names
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct MembersArgs {
    #[command(subcommand)]
    pub action: MembersAction,
}

#[derive(Debug, Subcommand)]
pub enum MembersAction {
    /// List members (id order)
    List {
        /// How many
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this member id
        #[arg(long, value_name = "ID")]
        after: Option<i64>,
    },
    /// Show a member with its identities and affiliations
    Show {
        /// Member id
        id: i64,
    },
    /// Merge candidates waiting for review, with their evidence and score
    ///
    /// Candidates at or above the threshold are merged automatically after each import (and by
    /// `kith members resolve`); the rest, and pairs a hard rule blocks (two user ids of one
    /// source), wait here.
    Candidates {
        /// Score at or above which merges are automatic [config: identity.threshold] [default: 0.9]
        #[arg(long)]
        threshold: Option<f64>,
    },
    /// Apply the automatic merges now (imports do this by themselves)
    Resolve {
        /// Score at or above which merges are automatic [config: identity.threshold] [default: 0.9]
        #[arg(long)]
        threshold: Option<f64>,
    },
    /// Merge member FROM into member INTO (logged, reversible with `unmerge`)
    Merge {
        /// The member that remains
        into: i64,
        /// The member whose identities move
        from: i64,
        /// Why, for the merge log
        #[arg(long, default_value = "merged by hand")]
        reason: String,
    },
    /// Undo a merge by its id (see `kith members merges`)
    Unmerge {
        /// Merge id
        merge: i64,
    },
    /// The merge log, oldest first
    Merges,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object a line; activities in kith's canonical format, which `kith import jsonl` reads back
    Jsonl,
    /// A header row, then one row per record; times in RFC 3339, booleans as 1/0
    Csv,
    /// Typed columns for analysts (DuckDB, pandas); binary, so it needs --output FILE or a redirected standard output
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportWhat {
    /// Every stored activity, deleted ones included (flagged), in the order they were stored
    Activities,
    /// Every member by id, with team and bot flags; merged-away members name the member they went into
    Members,
    /// Every thread with its source, and whether kith inferred it
    Threads,
}

#[derive(Debug, Args)]
#[command(
    after_help = "CSV and Parquet carry the same columns with the same values; the \
columns of each table and how to open the files in DuckDB or pandas are in docs/formats/export.md.

Examples:
  kith export --output all.jsonl
  kith export --format parquet --what activities --output activities.parquet
  kith export --format csv --what members > members.csv"
)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Output file, replaced if it exists (default: standard output)
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// What to export
    #[arg(long, value_enum, default_value_t = ExportWhat::Activities)]
    pub what: ExportWhat,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the backup
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to serve on [env: KITH_BIND] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_names_the_schema() {
        assert!(
            LONG_VERSION.ends_with(&format!("(database schema {})", kith_store::SCHEMA_VERSION))
        );
    }
}

#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub action: UsersAction,
}

#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// List the accounts with their role and state
    List,
    /// Create an account
    Add {
        /// The account name (what people log in with)
        name: String,
        /// owner, admin, moderator, analyst or viewer
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Read the password from the first line of standard input instead of asking
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's role
    SetRole {
        name: String,
        /// owner, admin, moderator, analyst or viewer
        role: String,
    },
    /// Give an account a new password and end its sessions
    ResetPassword {
        name: String,
        /// Read the password from the first line of standard input instead of asking
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove an account: it can no longer log in, its sessions end and its API tokens are
    /// revoked (the account is kept, disabled, so that what it wrote keeps its author; an
    /// admin can enable it again on the Accounts page)
    Remove { name: String },
}
