//! Loading: a project folder becomes a [`project::Project`] (site and user configuration,
//! endpoint files decoded from the positioned YAML tree), and the semantics of what
//! endpoints declare that both the checks and the executor need: the declared types' values
//! ([`types`]) and the prompt template dialect ([`template`]).

pub mod auth_config;
pub mod decode;
pub mod endpoint;
pub mod endpoint_decode;
pub mod limits_config;
pub mod project;
pub mod site;
pub mod telemetry_config;
pub mod template;
pub mod types;
pub mod uri_template;
pub mod user_config;
pub mod yaml;
