//! Checking: what is wrong with a loaded project, reported as [`Findings`]. Loading reports
//! only what decoding finds; everything else is found here.

use std::sync::Arc;

use crate::db::{Database, DbError};
use crate::diagnostics::{Diagnostic, Findings};
use crate::load::endpoint::Language;
use crate::load::project::{Project, SITE_FILE};

pub mod lint;
pub mod python;
pub mod sql;
pub mod static_checks;

/// Every finding: the loader's, the static checks', the SQL checks' against the database
/// (statements are prepared, never run) and the Python signature checks'. `db` is opened
/// only when there is SQL to check, so checking a project without SQL creates no database.
pub fn check(project: &Project, db: impl FnOnce() -> Result<Arc<Database>, DbError>) -> Findings {
    let mut findings = check_static(project);
    let has_sql = project.endpoints().any(|(_, e)| e.runs(Language::Sql));
    if has_sql {
        match db() {
            Ok(db) => sql::check_sql(project, &db, &mut findings),
            Err(e) => findings
                .diagnostics
                .push(Diagnostic::whole_file_error(SITE_FILE, format!("SQL endpoints were not checked: {e}"))),
        }
    }
    python::check_python(project, &mut findings);
    findings
}

/// The loader's findings plus the checks that need neither a database nor Python (what
/// `list` and `test` skip broken files by).
pub fn check_static(project: &Project) -> Findings {
    let mut findings = project.findings.clone();
    static_checks::check_static(project, &mut findings.diagnostics);
    findings
}
