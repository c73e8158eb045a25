//! A server reload's next runtime: what it keeps of the one serving (the database when its
//! configuration did not change, the Python engine when no Python source, plugin or plugin
//! configuration did), and the switch to it once it is checked (`activate`).

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::exec::executor::Runtime;
use crate::load::endpoint::{Language, SourceBody};
use crate::load::project::Project;

/// A digest of source files (paths and contents).
#[derive(Clone, PartialEq, Eq, Default)]
pub(super) struct Fingerprint {
    project: [u8; 32],
    plugins: [u8; 32],
}

impl Fingerprint {
    /// The project's Python (python/, the Python endpoints' sources) and, apart, the plugins'.
    pub(super) fn python_sources(project: &Project) -> Fingerprint {
        let root = &project.root;
        let mut files = Vec::new();
        python_files(&root.join(&project.site.paths.python), &mut files);
        for (_, e) in project.endpoints() {
            if let (Language::Python, Some(SourceBody::File { resolved, .. })) =
                (e.language, e.source.as_ref().map(|s| &s.body))
            {
                files.push(resolved.clone());
            }
        }
        let mut plugin_files = Vec::new();
        python_files(&root.join(&project.site.paths.plugins), &mut plugin_files);
        Fingerprint { project: digest(files), plugins: digest(plugin_files) }
    }
}

fn python_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || name == "__pycache__" {
            continue;
        }
        if path.is_dir() {
            python_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "py") {
            out.push(path);
        }
    }
}

fn digest(mut files: Vec<std::path::PathBuf>) -> [u8; 32] {
    files.sort();
    files.dedup();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.to_string_lossy().as_bytes());
        h.update([0]);
        // an unreadable file counts as changed content: it differs from any readable one
        match std::fs::read(&f) {
            Ok(bytes) => h.update(&bytes),
            Err(_) => h.update([0xff, 0]),
        }
        h.update([0]);
    }
    h.finalize().into()
}

impl Runtime {
    /// The runtime for `project`, loaded again while this one serves. It keeps this one's
    /// database when its configuration is unchanged and the plugins too; its Python engine
    /// when no Python changed either. Changed Python: the project's modules are imported
    /// afresh (unchanged plugins are kept). Changed plugins: new plugins, in a new database.
    /// Nothing is switched until [`Runtime::activate`]; dropping the result undoes it.
    pub fn successor(&self, project: Project, pool_size: usize) -> Runtime {
        let mut next = Runtime::new(project, pool_size);
        let plugins_same =
            next.plugin_defs() == self.plugin_defs() && next.python_sources.plugins == self.python_sources.plugins;
        let python_same = plugins_same && next.python_sources.project == self.python_sources.project;
        let db_same = self.db.same_options(next.db.options());
        if db_same && plugins_same {
            next.db = self.db.clone();
        } else {
            if plugins_same {
                next.db.copy_hooks_from(&self.db);
            }
            // two databases open on one file at once could both write it
            if next.db.path() == self.db.path() && !is_memory(self.db.path()) {
                next.db.take_over(&self.db);
            }
        }
        let engine = match self.python.get() {
            Some(Ok(engine)) => Some(engine.clone()),
            _ => None,
        };
        if let Some(engine) = engine {
            if python_same {
                let _ = next.python.set(Ok(engine));
            } else if plugins_same {
                *next.share_plugins_of.lock().expect("plugins lock") = Some(engine);
            }
        }
        next
    }

    /// This runtime serves from now on: project Python sees its configuration, database and
    /// modules, and a database it took over stays with it. Also what a rejected reload calls
    /// on the runtime that keeps serving.
    pub fn activate(&self) {
        self.db.commit();
        match self.python.get() {
            Some(Ok(engine)) => engine.activate(self.services()),
            _ => crate::python::use_services(self.services()),
        }
    }

    /// Whether the database is the same slot as `other`'s (not restarted by a reload).
    pub fn shares_database_with(&self, other: &Runtime) -> bool {
        Arc::ptr_eq(&self.db, &other.db)
    }

    /// Whether the Python engine is the same as `other`'s (not reloaded).
    pub fn shares_python_with(&self, other: &Runtime) -> bool {
        match (self.python.get(), other.python.get()) {
            (Some(Ok(a)), Some(Ok(b))) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

fn is_memory(path: &Path) -> bool {
    path.as_os_str().is_empty() || path.file_name().is_some_and(|n| n == ":memory:")
}
