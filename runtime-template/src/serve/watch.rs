//! `serve --watch`: polls the project's files (YAML, SQL, Python) and the configuration files
//! for changes, and reloads once they have been still for a moment (an editor's save is
//! often several writes). Polling needs no platform watcher and no new dependency.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::catalog::State;

const POLL: Duration = Duration::from_millis(400);

/// What is watched: directories walked for project files, and single files.
#[derive(Debug, Clone, Default)]
pub struct WatchPaths {
    pub dirs: Vec<PathBuf>,
    pub files: Vec<PathBuf>,
}

/// (path, modified, length) of every watched file that exists, in order.
type Snapshot = Vec<(PathBuf, Option<SystemTime>, u64)>;

fn snapshot(paths: &WatchPaths) -> Snapshot {
    let mut out = Vec::new();
    for d in &paths.dirs {
        walk(d, &mut out);
    }
    for f in &paths.files {
        if let Ok(m) = std::fs::metadata(f) {
            out.push((f.clone(), m.modified().ok(), m.len()));
        }
    }
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Snapshot) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // hidden directories (.mxcp: dependencies), caches and what servers write
        if name.starts_with('.') || matches!(name.as_ref(), "__pycache__" | "node_modules" | "audit" | "drift") {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let path = entry.path();
        if meta.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|x| matches!(x.to_str(), Some("yml" | "yaml" | "sql" | "py"))) {
            out.push((path, meta.modified().ok(), meta.len()));
        }
    }
}

/// Reloads whenever the watched files change, until the server stops.
pub(super) async fn run(state: Arc<State>, paths: WatchPaths) {
    let scan = |paths: WatchPaths| async move {
        tokio::task::spawn_blocking(move || snapshot(&paths)).await.unwrap_or_default()
    };
    let mut seen = scan(paths.clone()).await;
    tracing::info!("mxcp: watching {} file(s) for changes", seen.len());
    loop {
        tokio::time::sleep(POLL).await;
        let now = scan(paths.clone()).await;
        if now == seen {
            continue;
        }
        // wait until the files stay as they are for one poll
        let mut settled = now;
        loop {
            tokio::time::sleep(POLL).await;
            let again = scan(paths.clone()).await;
            if again == settled {
                break;
            }
            settled = again;
        }
        seen = settled;
        let _ = state.reload("file change").await;
    }
}
