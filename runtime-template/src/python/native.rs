//! `_mxcp_native`: the Rust side of `mxcp.runtime` (queries, configuration, notifications).

use std::sync::{Arc, RwLock};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value as Json;

use super::convert;
use super::ports::{CallEvents, Services};

static SERVICES: RwLock<Option<Arc<dyn Services>>> = RwLock::new(None);

pub(super) fn set_services(s: Arc<dyn Services>) {
    *SERVICES.write().expect("services lock") = Some(s);
}

fn services() -> PyResult<Arc<dyn Services>> {
    SERVICES
        .read()
        .expect("services lock")
        .clone()
        .ok_or_else(|| PyRuntimeError::new_err("mxcp.runtime is only available inside an mxcp project"))
}

/// The call a piece of Python runs for: where its notifications go and who the user is.
#[pyclass(frozen, module = "_mxcp_native")]
pub struct CallContext {
    pub events: Option<Arc<dyn CallEvents>>,
    #[pyo3(get)]
    pub user: Py<PyAny>,
    /// What the SQL caller functions return for this call's `db.execute`.
    pub session: Option<Arc<crate::db::SqlSession>>,
}

/// The SQL session of the call the current Python code runs for (its `_call` context).
fn current_session(py: Python<'_>) -> PyResult<Option<Arc<crate::db::SqlSession>>> {
    static CALL: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    let var = CALL.get_or_try_init(py, || py.import("mxcp._host")?.getattr("_call").map(Bound::unbind))?.bind(py);
    let ctx = var.call_method0("get")?;
    Ok(ctx.cast::<CallContext>().ok().and_then(|c| c.get().session.clone()))
}

#[pymethods]
impl CallContext {
    fn log(&self, level: &str, message: &str) {
        match &self.events {
            Some(e) => e.log(level, message),
            None => log_line(level, message),
        }
    }

    /// Sends a request to the MCP client and waits for its answer (JSON text in and out).
    fn request(&self, py: Python<'_>, method: &str, params: &str) -> PyResult<String> {
        let Some(events) = self.events.clone() else {
            return Err(PyRuntimeError::new_err(format!(
                "{method} is only available during a call from an MCP client"
            )));
        };
        let params: Json = serde_json::from_str(params).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        let method = method.to_string();
        py.detach(move || events.request(&method, params)).map(|v| v.to_string()).map_err(PyRuntimeError::new_err)
    }

    #[pyo3(signature = (progress, total=None, message=None))]
    fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        if let Some(e) = &self.events {
            e.progress(progress, total, message);
        }
    }
}

fn log_line(level: &str, message: &str) {
    tracing::info!("{level}: {message}");
}

#[pymodule]
pub mod _mxcp_native {
    use super::*;

    #[pymodule_export]
    use super::CallContext;

    #[pyfunction]
    fn db_execute<'py>(py: Python<'py>, sql: &str, params: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyList>> {
        static PLAIN: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
        let plain =
            PLAIN.get_or_try_init(py, || py.import("mxcp._host")?.getattr("plain").map(Bound::unbind))?.bind(py);
        let Json::Object(args) = convert::from_py(params.as_any(), plain, 0)? else {
            return Err(PyRuntimeError::new_err("params must be a dict"));
        };
        let svc = services()?;
        let sql = sql.to_string();
        let session = current_session(py)?;
        // other Python threads run while DuckDB works
        let result = py.detach(move || svc.execute(&sql, &args, session.as_ref())).map_err(PyRuntimeError::new_err)?;
        let rows = PyList::empty(py);
        for row in &result.rows {
            let d = PyDict::new(py);
            for (name, ty) in &result.columns {
                d.set_item(name, convert::sql_to_py(py, row.get(name).unwrap_or(&Json::Null), ty)?)?;
            }
            rows.append(d)?;
        }
        Ok(rows)
    }

    #[pyfunction]
    fn get_secret<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        match services()?.secret(name) {
            Some(v) => convert::to_py(py, &v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    #[pyfunction]
    fn user_config(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        convert::to_py(py, &services()?.user_config())
    }

    #[pyfunction]
    fn site_config(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        convert::to_py(py, &services()?.site_config())
    }

    #[pyfunction]
    fn log_local(level: &str, message: &str) {
        log_line(level, message);
    }

    #[pyfunction]
    fn reload_db(py: Python<'_>, payload: Py<PyAny>, description: &str) -> PyResult<()> {
        let svc = services()?;
        let host = py.import("mxcp._host")?;
        if !description.is_empty() {
            log_line("info", &format!("reloading the database: {description}"));
        }
        // hooks only: the plugins stay, their functions are registered again on the new database
        let generation = host.getattr("current")?;
        host.call_method1("run_hooks", (&generation, "shutdown"))?;
        // waiting for running queries happens without the GIL: one of them may be calling a
        // plugin function, which needs it
        let r = py.detach(|| {
            svc.reload_db(&mut || {
                Python::attach(|py| {
                    if payload.is_none(py) {
                        return Ok(());
                    }
                    payload.call0(py).map(|_| ()).map_err(|e| e.to_string())
                })
            })
        });
        host.call_method1("run_hooks", (&generation, "init"))?;
        r.map_err(PyRuntimeError::new_err)
    }
}
