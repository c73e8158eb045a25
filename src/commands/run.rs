//! `mxcp run`: execute one endpoint from the command line.

use std::process::ExitCode;

use std::sync::Arc;

use anyhow::Result;
use mxcp_runtime::exec::executor::{CallOptions, Runtime};
use mxcp_runtime::exec::identity::Identity;
use mxcp_runtime::load::endpoint::EndpointKind;

use crate::cli::RunArgs;
use crate::commands::{envelope, load_project, parse_params, parse_request_headers, parse_user_context};
use crate::output;

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let project = match load_project(&args.project, args.readonly, args.json_output) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let kind = EndpointKind::parse(&args.kind).expect("clap checked the kind");
    let runtime = Runtime::new(project, 1);
    envelope(
        args.json_output,
        || {
            let params = parse_params(&args.params)?;
            let opts = CallOptions {
                identity: parse_user_context(args.user_context.as_deref())?
                    .and_then(|u| u.as_object().map(|u| Arc::new(Identity::from_user_context(u, "cli")))),
                request: parse_request_headers(args.request_headers.as_deref())?,
                skip_output_validation: args.skip_output_validation,
                cancel: None,
                events: None,
                result_cap: Default::default(),
                spans: None,
            };
            let result = runtime.call(kind, &args.name, &params, &opts);
            runtime.shutdown();
            Ok(result?)
        },
        output::print_value,
    )
}
