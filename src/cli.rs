//! Command-line definitions (clap). The logic lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mxcp",
    version,
    about = "Turn a folder of YAML, SQL and Python into an MCP server",
    propagate_version = true
)]
pub struct Cli {
    /// Run as if mxcp was started in DIR
    #[arg(short = 'C', long = "project-dir", value_name = "DIR", global = true)]
    pub project_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new project
    Init(InitArgs),
    /// List the project's endpoints
    List(ListArgs),
    /// Check every endpoint and report all problems (exit 1 on any error)
    Validate(ValidateArgs),
    /// Run a tool, resource or prompt
    Run(RunArgs),
    /// Run SQL on the profile's database
    Query(QueryArgs),
    /// Run the endpoints' inline tests (exit 1 on any failure)
    Test(TestArgs),
    /// Check the endpoints' metadata (descriptions, examples, tests)
    Lint(LintArgs),
    /// Serve the project over MCP (stdio or streamable HTTP)
    Serve(ServeArgs),
    /// Record the project's tables, endpoint validation, test results and definitions as the
    /// drift baseline
    DriftSnapshot(DriftSnapshotArgs),
    /// Compare the project with its drift baseline (exit 1 on any drift)
    DriftCheck(DriftCheckArgs),
    /// Show the audit log, newest first (or export it); `log verify` checks its hash chain
    Log(LogArgs),
    /// Delete audit records older than their retention (90 days)
    LogCleanup(LogCleanupArgs),
    /// Build one self-contained executable that serves this project (no Python needed to run it)
    Build(BuildArgs),
    /// Install the project's Python dependencies (requirements.txt) with the embedded pip
    #[command(subcommand)]
    Deps(DepsCommand),
    /// Run the embedded Python 3.11 as `python3` (-c, -m, scripts, the REPL)
    Python(PythonArgs),
}

#[derive(Debug, Args)]
pub struct PythonArgs {
    /// Arguments for python3
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
pub enum DepsCommand {
    /// Install requirements.txt into the project's .mxcp/site-packages (replaced only on success)
    Install(DepsInstallArgs),
}

/// Where the embedded pip finds the project's dependencies.
#[derive(Debug, Args)]
pub struct PipArgs {
    /// Requirements file (default: requirements.txt at the project root)
    #[arg(short = 'r', long, value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    /// Look for wheels in DIR (repeatable)
    #[arg(long, value_name = "DIR")]
    pub find_links: Vec<PathBuf>,
    /// Do not use the package index (air-gapped: only --find-links)
    #[arg(long)]
    pub no_index: bool,
}

#[derive(Debug, Args)]
pub struct DepsInstallArgs {
    #[command(flatten)]
    pub pip: PipArgs,
    /// Allow source distributions (default: wheels only, as `mxcp build` requires)
    #[arg(long)]
    pub allow_sdist: bool,
}

/// Options every project command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct ProjectArgs {
    /// Profile to use (default: $MXCP_PROFILE, else the site's `profile`)
    #[arg(long)]
    pub profile: Option<String>,
    /// User configuration file (default: $MXCP_CONFIG, else ~/.mxcp/config.yml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print debug information
    #[arg(long, env = "MXCP_DEBUG", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    pub debug: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the project in
    #[arg(default_value = ".")]
    pub folder: PathBuf,
    /// Project name (default: the directory's name)
    #[arg(long)]
    pub project: Option<String>,
    /// Profile name (default: $MXCP_PROFILE, else "default")
    #[arg(long)]
    pub profile: Option<String>,
    /// Add a hello-world tool and a Claude Desktop configuration (server_config.json)
    #[arg(long)]
    pub bootstrap: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json_output: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Only this endpoint file
    pub endpoint: Option<PathBuf>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json_output: bool,
    /// Open the database read-only
    #[arg(long)]
    pub readonly: bool,
    /// Treat warnings as errors (exit 1 on any finding but infos)
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// What to run
    #[arg(value_parser = ["tool", "resource", "prompt"])]
    pub kind: String,
    /// Tool or prompt name; resource URI template
    pub name: String,
    /// Parameter as NAME=VALUE (VALUE is text, or NAME=@file.json for a JSON value); repeatable
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// User context for policies, as JSON or @file.json
    #[arg(short = 'u', long)]
    pub user_context: Option<String>,
    /// HTTP request headers the SQL functions see (get_request_header), as JSON or @file.json
    #[arg(long, value_name = "JSON")]
    pub request_headers: Option<String>,
    /// Do not check the result against the declared return type
    #[arg(long)]
    pub skip_output_validation: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json_output: bool,
    /// Open the database read-only
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// SQL to run (or --file)
    pub sql: Option<String>,
    /// Read the SQL from a file
    #[arg(long, value_name = "FILE", conflicts_with = "sql")]
    pub file: Option<PathBuf>,
    /// Parameter as NAME=VALUE (bound as text) or NAME=@file.json; repeatable
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json_output: bool,
    /// Open the database read-only
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Only test this endpoint: tool, resource or prompt
    #[arg(value_parser = ["tool", "resource", "prompt"], requires = "name")]
    pub kind: Option<String>,
    /// Name (URI template for a resource)
    pub name: Option<String>,
    /// User context for every test (overrides the tests' own), as JSON or @file.json
    #[arg(short = 'u', long)]
    pub user_context: Option<String>,
    /// HTTP request headers the SQL functions see (get_request_header), as JSON or @file.json
    #[arg(long, value_name = "JSON")]
    pub request_headers: Option<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json_output: bool,
    /// Open the database read-only
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Show findings of at least this severity
    #[arg(long, default_value = "all", value_parser = ["all", "error", "warning", "info"])]
    pub severity: String,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json_output: bool,
}

#[derive(Debug, Args)]
pub struct DriftSnapshotArgs {
    /// Replace an existing snapshot
    #[arg(long)]
    pub force: bool,
    /// Print the snapshot instead of writing it
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json_output: bool,
}

#[derive(Debug, Args)]
pub struct DriftCheckArgs {
    /// Snapshot to compare with (default: the profile's `drift.path`, else
    /// drift/drift-<profile>.json)
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json_output: bool,
    /// Open the database read-only
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Transport (default: the user config's `transport.provider`, else stdio)
    #[arg(long, value_parser = ["stdio", "streamable-http"])]
    pub transport: Option<String>,
    /// Address to listen on for HTTP (default: the user config's `transport.http.host`, else 127.0.0.1)
    #[arg(long)]
    pub host: Option<String>,
    /// Port for HTTP (default: the user config's `transport.http.port`, else 8000; 0 picks a free port)
    #[arg(long)]
    pub port: Option<u16>,
    /// HTTP without sessions: every request stands alone
    #[arg(long)]
    pub stateless: bool,
    /// Open the database read-only
    #[arg(long)]
    pub readonly: bool,
    /// Offer the built-in SQL tools (execute_sql_query, list_tables, get_table_schema)
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
    pub sql_tools: Option<bool>,
    /// Start even when endpoints fail validation, leaving those endpoints out
    #[arg(long)]
    pub ignore_errors: bool,
    /// Also accept this Host header (repeatable; loopback names are always accepted)
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Also accept requests from this Origin, e.g. https://app.example.com:443 (repeatable)
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// Seconds a call may run before it fails
    #[arg(long, default_value_t = 300)]
    pub call_timeout: u64,
    /// Report start-up errors as JSON on stdout (before any protocol traffic)
    #[arg(long)]
    pub json_output: bool,
    /// The caller of every call that carries no verified token (stdio), as JSON or @file.json;
    /// policies, SQL's get_username() and Python see it
    #[arg(long)]
    pub user_context: Option<String>,
    /// Reload when the project's files or the configuration change (development)
    #[arg(long)]
    pub watch: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LogArgs {
    #[command(subcommand)]
    pub action: Option<LogAction>,
    /// Only calls of this tool
    #[arg(long, value_name = "NAME")]
    pub tool: Option<String>,
    /// Only reads of this resource (its URI template)
    #[arg(long, value_name = "URI")]
    pub resource: Option<String>,
    /// Only renderings of this prompt
    #[arg(long, value_name = "NAME")]
    pub prompt: Option<String>,
    /// Only this kind of endpoint
    #[arg(long = "type", value_parser = ["tool", "resource", "prompt"])]
    pub kind: Option<String>,
    /// Only this policy decision (n/a: no policy ran)
    #[arg(long, value_parser = ["allow", "deny", "warn", "n/a"])]
    pub policy: Option<String>,
    /// Only successful or failed calls
    #[arg(long, value_parser = ["success", "error"])]
    pub status: Option<String>,
    /// Only records this recent: 10s, 5m, 2h, 1d
    #[arg(long, value_name = "AGE")]
    pub since: Option<String>,
    /// At most this many records
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Write every matching record to a CSV file instead
    #[arg(long, value_name = "PATH", conflicts_with = "export_duckdb")]
    pub export_csv: Option<PathBuf>,
    /// Write every matching record to a DuckDB file (table audit_logs) instead
    #[arg(long, value_name = "PATH")]
    pub export_duckdb: Option<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Subcommand)]
pub enum LogAction {
    /// Check the audit log's hash chain (and signatures, with a key): exit 1 and name the
    /// first broken record if anything was changed, removed or reordered
    Verify(LogVerifyArgs),
}

#[derive(Debug, Args)]
pub struct LogVerifyArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
pub struct LogCleanupArgs {
    /// Only say what would be deleted
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Executable to write (default: dist/<project> in the project)
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub pip: PipArgs,
    /// Also pack the profile's DuckDB file (copied out on the server's first use)
    #[arg(long)]
    pub include_data: bool,
    /// zstd level for the payload (1-22)
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i32).range(1..=22))]
    pub compression_level: i32,
    /// The machine the executable is for (default: this one's)
    #[arg(long, value_name = "TARGET", value_parser = ["x86_64-linux", "aarch64-linux"])]
    pub target: Option<String>,
    /// The mxcp runtime of that target to append the project to (default: this mxcp for this
    /// machine, else mxcp-<TARGET> in $MXCP_RUNTIME_DIR or beside this mxcp)
    #[arg(long, value_name = "PATH")]
    pub runtime: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// The command line of a built server (`mxcp build` output): serving and using its one
/// project; no authoring commands.
#[derive(Debug, Parser)]
#[command(disable_version_flag = true)]
pub struct ServerCli {
    #[command(subcommand)]
    pub command: Option<ServerCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Serve the project over MCP (the default: stdio)
    Serve(ServeArgs),
    /// List the endpoints
    List(ListArgs),
    /// Run a tool, resource or prompt
    Run(RunArgs),
    /// Run the endpoints' inline tests
    Test(TestArgs),
    /// Show the audit log (`log verify`: check its hash chain)
    Log(LogArgs),
    /// Delete audit records older than their retention
    LogCleanup(LogCleanupArgs),
    /// Show what this executable carries: project, dependencies, files, payload hash
    Inspect,
    /// Extract the runtime into DIR, so that MXCP_CACHE_DIR=DIR starts with no writes
    /// (read-only images)
    Materialize {
        /// Cache directory to fill
        dir: PathBuf,
    },
    /// Run the embedded Python 3.11 as `python3`
    Python(PythonArgs),
}
