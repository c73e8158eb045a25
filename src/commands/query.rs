//! `mxcp query`: raw SQL on the profile's database.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use mxcp_runtime::exec::executor::Runtime;

use crate::cli::QueryArgs;
use crate::commands::{envelope, load_project, parse_params};
use crate::output;

pub fn run(args: QueryArgs) -> Result<ExitCode> {
    let project = match load_project(&args.project, args.readonly, args.json_output) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let runtime = Runtime::new(project, 1);
    envelope(
        args.json_output,
        || {
            let sql = match (&args.sql, &args.file) {
                (Some(sql), None) => sql.clone(),
                (None, Some(file)) => {
                    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
                }
                _ => bail!("give the SQL as an argument or with --file"),
            };
            let params = parse_params(&args.params)?;
            Ok(runtime.query(&sql, &params, &[])?.into_json())
        },
        output::print_value,
    )
}
