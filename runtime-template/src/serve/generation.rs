//! One generation of what the server serves: a runtime, the endpoints as MCP sees them (tools,
//! resources, templates, prompts) and the limits. Built at start and at each reload; a call
//! holds the generation it started on until it ends.

use std::sync::Arc;

use regex::Regex;
use rmcp::model::{Prompt, PromptArgument, Resource, ResourceTemplate, Tool};

use crate::exec::executor::Runtime;
use crate::limits::Limits;
use crate::load::endpoint::{Endpoint, EndpointKind};
use crate::load::limits_config::LimitsConfig;

pub(super) struct Generation {
    /// 1 at start, one more at each reload.
    pub(super) number: u64,
    pub(super) runtime: Arc<Runtime>,
    pub(super) tools: Vec<Tool>,
    pub(super) resources: Vec<Resource>,
    pub(super) templates: Vec<ResourceTemplate>,
    /// URI template matchers, in declaration order: (matcher, variable names, template).
    pub(super) matchers: Vec<(Regex, Vec<String>, String)>,
    pub(super) prompts: Vec<Prompt>,
    pub(super) limits: Arc<Limits>,
    /// What `limits` was made of: a reload with the same keeps its counters.
    pub(super) limits_config: LimitsConfig,
}

/// Which lists a reload changed (each is one `notifications/*/list_changed`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Changes {
    pub(super) tools: bool,
    pub(super) resources: bool,
    pub(super) prompts: bool,
}

impl Generation {
    pub(super) fn new(number: u64, runtime: Arc<Runtime>, limits_config: LimitsConfig) -> Self {
        let limits = Arc::new(Limits::new(&limits_config));
        Self::with_limits(number, runtime, limits, limits_config)
    }

    fn with_limits(number: u64, runtime: Arc<Runtime>, limits: Arc<Limits>, limits_config: LimitsConfig) -> Self {
        let mut g = Generation {
            number,
            runtime: runtime.clone(),
            tools: Vec::new(),
            resources: Vec::new(),
            templates: Vec::new(),
            matchers: Vec::new(),
            prompts: Vec::new(),
            limits,
            limits_config,
        };
        for e in runtime.endpoints() {
            match e.kind {
                EndpointKind::Tool => g.tools.push(super::catalog::tool_of(e)),
                EndpointKind::Resource => g.add_resource(e),
                EndpointKind::Prompt => g.prompts.push(prompt_of(e)),
            }
        }
        g
    }

    /// The next generation: `runtime` with limits of `config` (this one's, counters and all,
    /// when the configuration is the same).
    pub(super) fn next(&self, runtime: Arc<Runtime>, config: LimitsConfig) -> Generation {
        if config == self.limits_config {
            return Generation::with_limits(self.number + 1, runtime, self.limits.clone(), config);
        }
        Generation::new(self.number + 1, runtime, config)
    }

    fn add_resource(&mut self, e: &Endpoint) {
        let vars = crate::load::uri_template::variables(&e.name);
        let name = e.title.clone().unwrap_or_else(|| e.name.clone());
        if vars.is_empty() {
            let mut r = Resource::new(e.name.clone(), name);
            if let Some(d) = &e.description {
                r = r.with_description(d.clone());
            }
            if let Some(m) = &e.mime_type {
                r = r.with_mime_type(m.clone());
            }
            self.resources.push(r);
        } else {
            let mut t = ResourceTemplate::new(e.name.clone(), name);
            if let Some(d) = &e.description {
                t = t.with_description(d.clone());
            }
            if let Some(m) = &e.mime_type {
                t = t.with_mime_type(m.clone());
            }
            self.templates.push(t);
            self.matchers.push((crate::load::uri_template::matcher(&e.name), vars, e.name.clone()));
        }
    }

    pub(super) fn endpoint(&self, kind: EndpointKind, name: &str) -> Option<&Endpoint> {
        self.runtime.find(kind, name)
    }

    /// The endpoints served, for the admin interface: `[{kind, name}]`.
    pub(super) fn endpoint_names(&self) -> Vec<serde_json::Value> {
        self.runtime.endpoints().map(|e| serde_json::json!({"kind": e.kind.as_str(), "name": e.name})).collect()
    }

    /// What a client listing this generation sees differently from `before`.
    pub(super) fn changes_from(&self, before: &Generation) -> Changes {
        fn differ<T: serde::Serialize>(a: &T, b: &T) -> bool {
            serde_json::to_value(a).ok() != serde_json::to_value(b).ok()
        }
        Changes {
            tools: differ(&self.tools, &before.tools),
            resources: differ(&self.resources, &before.resources) || differ(&self.templates, &before.templates),
            prompts: differ(&self.prompts, &before.prompts),
        }
    }
}

fn prompt_of(e: &Endpoint) -> Prompt {
    let args: Vec<PromptArgument> = e
        .parameters
        .iter()
        .map(|p| {
            let mut a = PromptArgument::new(p.name.clone()).with_required(p.def.default.is_none());
            if let Some(d) = &p.def.description {
                a = a.with_description(d.clone());
            }
            a
        })
        .collect();
    Prompt::new(e.name.clone(), e.description.clone(), Some(args))
}
