//! `mxcp init`: create a project (non-interactive).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use mxcp_runtime::load::project::SITE_FILE;
use serde_json::json;

use crate::cli::InitArgs;

const DIRECTORIES: &[&str] =
    &["tools", "resources", "prompts", "evals", "python", "plugins", "sql", "drift", "audit", "data"];

/// `tools/hello-world.yml` exactly as the reference writes it.
const HELLO_TOOL: &str = "mxcp: 1
tool:
  name: hello_world
  description: A simple hello world tool
  enabled: true
  parameters:
  - name: name
    type: string
    description: Name to greet
    examples:
    - World
    - Alice
    - Bob
  return:
    type: string
    description: Greeting message
  source:
    file: ../sql/hello-world.sql
";
const HELLO_SQL: &str = "SELECT 'Hello, ' || $name || '!' as greeting\n";

pub fn run(args: InitArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.folder).with_context(|| format!("cannot create {}", args.folder.display()))?;
    let folder = std::fs::canonicalize(&args.folder)?;
    if let Some(existing) = folder.ancestors().find(|d| d.join(SITE_FILE).is_file()) {
        bail!("{} already belongs to a project ({} exists)", folder.display(), existing.join(SITE_FILE).display());
    }
    let project = match args.project {
        Some(p) => p,
        None => folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "project".into()),
    };
    if project.trim().is_empty() {
        bail!("the project name must not be empty (use --project NAME)");
    }
    let profile = args
        .profile
        .or_else(|| std::env::var("MXCP_PROFILE").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "default".into());
    let db = folder.join("data").join(format!("db-{profile}.duckdb"));
    if db.exists() {
        bail!("{} already exists", db.display());
    }

    let site = format!("mxcp: 1\nprofile: {}\nproject: {}\n", yaml_scalar(&profile), yaml_scalar(&project));
    write_new(&folder.join(SITE_FILE), &site)?;
    println!("✓ Created {SITE_FILE}");
    for dir in DIRECTORIES {
        std::fs::create_dir_all(folder.join(dir))?;
    }
    println!("✓ Created project directories");
    if args.bootstrap {
        write_new(&folder.join("tools/hello-world.yml"), HELLO_TOOL)?;
        write_new(&folder.join("sql/hello-world.sql"), HELLO_SQL)?;
        println!("✓ Created the hello_world tool (tools/hello-world.yml, sql/hello-world.sql)");
    }
    mxcp_runtime::db::create_database(&db)?;
    println!("✓ Created database {}", db.strip_prefix(&folder).unwrap_or(&db).display());
    if args.bootstrap {
        write_new(&folder.join("server_config.json"), &claude_desktop_config(&project, &folder)?)?;
        println!("✓ Wrote server_config.json (add its mcpServers entry to Claude Desktop's configuration)");
    }
    println!("\nProject '{project}' is ready in {}", folder.display());
    println!("Next: cd {} && mxcp validate && mxcp serve", args.folder.display());
    Ok(ExitCode::SUCCESS)
}

/// A Claude Desktop entry that starts this very mxcp binary on the project directory.
fn claude_desktop_config(project: &str, folder: &Path) -> Result<String> {
    let exe: PathBuf = mxcp_runtime::this_executable().context("cannot locate the mxcp executable")?;
    let config = json!({
        "mcpServers": {
            project: {
                "command": exe.display().to_string(),
                "args": ["-C", folder.display().to_string(), "serve", "--transport", "stdio"],
            }
        }
    });
    Ok(serde_json::to_string_pretty(&config)? + "\n")
}

/// Quotes a scalar when YAML would read it as something other than this string.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && s.parse::<f64>().is_err()
        && !matches!(s.to_ascii_lowercase().as_str(), "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~");
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', "''")) }
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    if path.exists() {
        bail!("{} already exists", path.display());
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
