//! Starting the project's Python for the executor: the interpreter with the project's modules
//! and dependencies, plugins and their database functions, `@on_init` hooks, and the
//! services (queries, configuration) that Python calls back into.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::db::{Database, QueryResult};
use crate::exec::db_slot::DbSlot;
use crate::exec::executor::{ExecError, Runtime};
use crate::load::project::Project;

/// What project Python reaches through `mxcp.runtime`.
struct PyServices {
    project: Arc<Project>,
    db: Arc<DbSlot>,
}

impl crate::python::Services for PyServices {
    fn execute(
        &self,
        sql: &str,
        params: &Map<String, Json>,
        session: Option<&std::sync::Arc<crate::db::SqlSession>>,
    ) -> Result<QueryResult, String> {
        let db = self.db.get().map_err(|e| e.to_string())?;
        db.query_json_cancellable(sql, params, &|_| None, None, session, Default::default())
            .and_then(crate::db::JsonRows::into_result)
            .map_err(|e| e.to_string())
    }
    fn secret(&self, name: &str) -> Option<Json> {
        self.project.user_config.secrets().into_iter().find(|s| s.name == name).map(|s| Json::Object(s.parameters))
    }
    fn user_config(&self) -> Json {
        self.project.user_config.raw.clone()
    }
    fn site_config(&self) -> Json {
        self.project.site.raw.clone()
    }
    fn reload_db(&self, payload: &mut dyn FnMut() -> Result<(), String>) -> Result<(), String> {
        self.db.reload(payload)
    }
}

impl Runtime {
    /// The project's Python, loaded on first use: modules imported, plugins created and their
    /// functions registered with DuckDB, `@on_init` hooks run.
    pub fn python(&self) -> Result<&Arc<crate::python::Engine>, ExecError> {
        self.python
            .get_or_init(|| {
                let project = crate::python::ProjectPython {
                    root: self.project.root.clone(),
                    python_dir: self.project.root.join(&self.project.site.paths.python),
                    plugin_dir: self.project.root.join(&self.project.site.paths.plugins),
                    site_dirs: dependency_dirs(&self.project.root),
                    plugins: self.plugin_defs()?,
                };
                let shared = self.share_plugins_of.lock().expect("plugins lock").take();
                let (engine, udfs) = crate::python::Engine::load(&project, self.services(), shared.as_deref())
                    .map_err(|e| e.to_string())?;
                let engine = Arc::new(engine);
                let udfs: Vec<Arc<crate::python::Udf>> = udfs.into_iter().map(Arc::new).collect();
                if !udfs.is_empty() {
                    self.db.add_on_open(Arc::new(move |db: &Database| {
                        for u in &udfs {
                            let udf = u.clone();
                            db.register_scalar(&u.name, &u.arg_types, &u.return_type, move |args| {
                                // DuckDB reports a failed scalar function by its message
                                udf.call(args).map_err(|e| e.to_string())
                            })?;
                        }
                        Ok(())
                    }))?;
                }
                engine.run_init_hooks();
                Ok(engine)
            })
            .as_ref()
            .map_err(|e| ExecError::Execution(e.clone()))
    }

    /// What `mxcp.runtime` reaches for this runtime: its configuration and database.
    pub(super) fn services(&self) -> Arc<dyn crate::python::Services> {
        Arc::new(PyServices { project: self.project.clone(), db: self.db.clone() })
    }

    /// Plugin instances (the site's `plugin:` list): name, module and their configuration from
    /// the user config.
    pub(super) fn plugin_defs(&self) -> Result<Vec<(String, String, Json)>, String> {
        let mut out = Vec::new();
        for p in &self.project.site.plugins {
            let cfg = match &p.config {
                Some(key) => match self.project.user_config.plugin_config(key) {
                    Some(c) => Json::Object(c.clone()),
                    None => return Err(format!("Plugin configuration '{key}' not found in plugin config")),
                },
                None => Json::Object(Map::new()),
            };
            out.push((p.name.clone(), p.module.clone(), cfg));
        }
        Ok(out)
    }
}

/// site-packages directories of a project's dependencies: the project-local one that
/// `mxcp deps install` fills, and an active virtual environment of the same Python version.
pub fn dependency_dirs(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut dirs = vec![root.join(DEPS_DIR)];
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        let sp = std::path::Path::new(&venv).join("lib/python3.11/site-packages");
        if sp.is_dir() {
            dirs.push(sp);
        }
    }
    dirs.retain(|d| d.is_dir());
    dirs
}

/// Where `mxcp deps install` puts a project's dependencies (relative to its root).
pub const DEPS_DIR: &str = ".mxcp/site-packages";
