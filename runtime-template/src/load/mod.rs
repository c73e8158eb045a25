//! Loading: a project folder becomes a [`project::Project`] (site and user configuration,
//! endpoint files decoded from the positioned YAML tree).

pub mod decode;
pub mod endpoint;
pub mod project;
pub mod site;
pub mod uri_template;
pub mod user_config;
pub mod yaml;
