//! The embedded CPython (the only module that talks to pyo3).
//!
//! The interpreter is linked statically into the executable; its standard library is embedded
//! (packed by build.rs) and extracted once into the cache. It starts lazily: a project with
//! no Python endpoints or plugins never pays for it.

mod convert;
mod interp;
mod native;
mod ports;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use serde_json::{Map, Value as Json};

pub use ports::{CallEvents, Services};

use crate::load::endpoint::Param;

static STDLIB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/stdlib.tar.zst"));
/// sha256 of the embedded standard library archive (its cache key).
pub const STDLIB_SHA256: &str = env!("MXCP_STDLIB_SHA256");
pub const PYTHON_VERSION: &str = "3.11";

/// The embedded interpreter's full version (`3.11.2 (main, ...) [GCC 12.2.0]`), read without
/// starting it.
pub fn embedded_version() -> String {
    // SAFETY: Py_GetVersion returns a static NUL-terminated string and may be called before
    // the interpreter is initialized
    let v = unsafe { std::ffi::CStr::from_ptr(pyo3::ffi::Py_GetVersion()) };
    let v = v.to_string_lossy();
    // Py_GetVersion cuts the compiler's name at 80 characters: the build's own record instead
    // (the Debian package version is the patch level)
    match env!("MXCP_CPYTHON_BUILD") {
        "" => v.split_whitespace().collect::<Vec<_>>().join(" "),
        build => format!("{} [{build}]", v.split_whitespace().next().unwrap_or("?")),
    }
}
/// The function name that makes a call resolve the module's entry point as the reference does
/// for resources: `main`, else the function named like the file, else the first public
/// callable in `dir()` order. Not a Python identifier; `_host.ENTRY_POINT` is the same string.
pub const ENTRY_POINT: &str = "<main>";

/// The function a Python endpoint calls: named like the tool; a resource calls its module's
/// entry point (`main`, else named like the file, else the first public callable), as the
/// reference does. `check::python` checks the same one.
pub fn endpoint_function(e: &crate::load::endpoint::Endpoint) -> &str {
    match e.kind {
        crate::load::endpoint::EndpointKind::Resource => ENTRY_POINT,
        _ => &e.name,
    }
}

/// The standard library's directory in the cache, extracted on first use. A cache on a
/// noexec mount is refused here at every start, not only at extraction: its extension modules
/// could not load and Python would silently fall back to pure-Python modules.
pub fn stdlib_home(cache_root: &Path) -> Result<PathBuf, crate::bundle::cache::CacheError> {
    let home = crate::bundle::cache::ensure_extracted(cache_root, "python", STDLIB_SHA256, || Ok(STDLIB))?;
    crate::bundle::cache::check_exec(&home)?;
    Ok(home)
}

fn layout(extra_paths: Vec<PathBuf>) -> Result<interp::Layout, String> {
    let root = crate::bundle::cache::root().map_err(|e| e.to_string())?;
    let home = stdlib_home(&root).map_err(|e| e.to_string())?;
    let exe = crate::this_executable().map_err(|e| format!("cannot find this executable: {e}"))?;
    let executable = crate::bundle::cache::python_link(&root, &exe, "python3").unwrap_or(exe);
    Ok(interp::Layout { home, executable, extra_paths })
}

/// Python mode: behave as `python3 ARGS...` (`args[0]` is the program name). `extra_paths`
/// go on `sys.path` after the standard library (a project's dependencies).
pub fn python_main(args: &[OsString], extra_paths: Vec<PathBuf>) -> i32 {
    // project modules imported here (multiprocessing workers, scripts) may import mxcp.runtime
    register_native_module();
    match layout(extra_paths) {
        Ok(l) => interp::run_main(&l, args),
        Err(e) => {
            tracing::error!("error: {e}");
            1
        }
    }
}

static INTERPRETER: OnceLock<Result<(), String>> = OnceLock::new();

/// Makes `_mxcp_native` (the Rust half of `mxcp.runtime`) a built-in module. Before start-up.
fn register_native_module() {
    // SAFETY: called before the interpreter starts, with a static name and init function
    unsafe {
        pyo3::ffi::PyImport_AppendInittab(
            native::_mxcp_native::__PYO3_NAME.as_ptr(),
            Some(native::_mxcp_native::__pyo3_init),
        );
    }
}

/// What the embedded Python reports. Every message is shown as is: a Python exception's is the
/// reference's wording (`error_text`), which clients and tests match on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PythonError {
    /// The interpreter could not start (its standard library, the cache).
    #[error("{0}")]
    Start(String),
    /// The project's Python could not be loaded: mxcp's support modules, a plugin, an import.
    #[error("{0}")]
    Load(String),
    /// A call raised: the exception's message.
    #[error("{0}")]
    Exception(String),
}

/// What `mxcp.runtime` reaches from now on, for a runtime without an engine of its own (a
/// reload's runtime that runs no Python: the one before must not stay reachable).
pub fn use_services(services: Arc<dyn Services>) {
    native::set_services(services);
}

/// Starts the interpreter once per process (embedded mode).
pub fn interpreter() -> Result<(), PythonError> {
    INTERPRETER
        .get_or_init(|| {
            register_native_module();
            let _ = MAIN_THREAD.set(std::thread::current().id());
            let l = layout(Vec::new())?;
            let argv0 = crate::this_executable().unwrap_or_else(|_| PathBuf::from("mxcp"));
            interp::start_embedded(&l, &argv0)
        })
        .clone()
        .map_err(PythonError::Start)
}

/// A project's Python, loaded: its modules imported, plugins created, `@on_init` hooks run.
/// One `_host.Generation`: a server reload loads another beside it (one interpreter per
/// process), and calls keep the modules of the generation they started on.
pub struct Engine {
    host: Py<PyModule>,
    generation: Py<PyAny>,
    plain: Py<PyAny>,
    shut_down: std::sync::atomic::AtomicBool,
}

/// A plugin method that is registered as a DuckDB scalar function.
pub struct Udf {
    pub name: String,
    pub arg_types: Vec<String>,
    pub return_type: String,
    method: Py<PyAny>,
}

/// How to load a project's Python.
pub struct ProjectPython {
    pub root: PathBuf,
    pub python_dir: PathBuf,
    pub plugin_dir: PathBuf,
    /// site-packages directories of the project's dependencies (their .pth files apply).
    pub site_dirs: Vec<PathBuf>,
    /// (instance name, module, configuration).
    pub plugins: Vec<(String, String, Json)>,
}

/// The call a function runs for.
#[derive(Clone, Default)]
pub struct CallContext {
    pub events: Option<Arc<dyn CallEvents>>,
    pub user: Option<Json>,
    /// What `get_username()` and friends return in this call's `db.execute`.
    pub session: Option<Arc<crate::db::SqlSession>>,
    /// A timeout: the function is interrupted (a `TimeoutError` raised in it).
    pub cancel: Option<crate::db::Cancel>,
}

/// Gives this thread a Python thread state that outlives each call. Without it every
/// `Python::attach` on a pool thread creates and destroys one (measured: ~60 µs of a 0.17 ms
/// call); with it, attaching is taking the GIL. The state is deleted when the thread ends.
fn keep_thread_state() {
    struct Kept(*mut pyo3::ffi::PyThreadState);
    impl Drop for Kept {
        fn drop(&mut self) {
            // SAFETY: re-attach the kept state, then release it for good (its last reference)
            unsafe {
                pyo3::ffi::PyEval_RestoreThread(self.0);
                pyo3::ffi::PyGILState_Release(pyo3::ffi::PyGILState_STATE::PyGILState_UNLOCKED);
            }
        }
    }
    thread_local! {
        static KEPT: std::cell::RefCell<Option<Kept>> = const { std::cell::RefCell::new(None) };
    }
    // the thread that started the interpreter keeps its own state already
    if MAIN_THREAD.get() == Some(&std::thread::current().id()) {
        return;
    }
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.is_none() {
            // SAFETY: the interpreter is running; the new state stays detached (GIL released)
            // until the thread ends, so later PyGILState_Ensure calls find and reuse it
            unsafe {
                pyo3::ffi::PyGILState_Ensure();
                *kept = Some(Kept(pyo3::ffi::PyEval_SaveThread()));
            }
        }
    });
}

static MAIN_THREAD: OnceLock<std::thread::ThreadId> = OnceLock::new();

/// Raises `TimeoutError` in the Python thread `thread_id` at its next bytecode.
fn interrupt(thread_id: std::os::raw::c_ulong) {
    let thread_id = thread_id as std::os::raw::c_long;
    // from a thread of its own: taking the GIL may wait for the running code's switch interval
    std::thread::spawn(move || {
        // SAFETY: the GIL is held (inside `attach`); `thread_id` names a Python thread or none, in which case the call does nothing.
        Python::attach(|_| unsafe {
            pyo3::ffi::PyThreadState_SetAsyncExc(thread_id, pyo3::ffi::PyExc_TimeoutError);
        });
    });
}

fn error_text(py: Python<'_>, e: &PyErr) -> String {
    let v = e.value(py);
    let msg = v.str().map(|s| s.to_string()).unwrap_or_default();
    if msg.is_empty() { e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default() } else { msg }
}

impl Engine {
    /// Starts the interpreter (if needed) and loads the project's Python; returns it with the
    /// plugins' functions to register. A plugin that cannot be created is an error. With
    /// `share_plugins_of`, the plugins of that engine are kept (their functions stay
    /// registered: none are returned) and only the project's modules are imported afresh.
    pub fn load(
        project: &ProjectPython,
        services: Arc<dyn Services>,
        share_plugins_of: Option<&Engine>,
    ) -> Result<(Engine, Vec<Udf>), PythonError> {
        interpreter()?;
        native::set_services(services);
        Python::attach(|py| {
            let host = py.import("mxcp._host").map_err(|e| format!("mxcp's Python support is broken: {e}"))?;
            let s = |p: &Path| p.to_string_lossy().into_owned();
            let site_dirs: Vec<String> = project.site_dirs.iter().map(|p| s(p)).collect();
            host.call_method1("setup", (s(&project.root), s(&project.python_dir), s(&project.plugin_dir), site_dirs))
                .map_err(|e| format!("setting up Python: {}", error_text(py, &e)))?;
            let shared = share_plugins_of.map(|e| e.generation.clone_ref(py));
            let (generation, _previous): (Py<PyAny>, Py<PyAny>) = host
                .call_method1("new_generation", (shared,))
                .and_then(|r| r.extract())
                .map_err(|e| error_text(py, &e))?;
            let mut udfs = Vec::new();
            if share_plugins_of.is_none() {
                let defs = PyList::empty(py);
                for (name, module, cfg) in &project.plugins {
                    let c = convert::to_py(py, cfg).map_err(|e| e.to_string())?;
                    defs.append((name, module, c)).map_err(|e| e.to_string())?;
                }
                let found =
                    host.call_method1("load_plugins", (generation.bind(py), defs)).map_err(|e| error_text(py, &e))?;
                for item in found.try_iter().map_err(|e| e.to_string())? {
                    let t = item.map_err(|e| e.to_string())?;
                    let t = t.cast::<PyTuple>().map_err(|e| e.to_string())?;
                    let (name, method, arg_types, return_type): (String, Py<PyAny>, Vec<String>, String) =
                        t.extract().map_err(|e: PyErr| e.to_string())?;
                    udfs.push(Udf { name, method, arg_types, return_type });
                }
            }
            host.call_method1("load_all", (generation.bind(py),)).map_err(|e| error_text(py, &e))?;
            let plain = host.getattr("plain").map_err(|e| e.to_string())?.unbind();
            let engine = Engine { host: host.unbind(), generation, plain, shut_down: Default::default() };
            Ok((engine, udfs))
        })
        .map_err(PythonError::Load)
    }

    /// Makes this engine the one `mxcp.runtime` serves (its services, its plugins), as a
    /// server reload does once the new generation is checked.
    pub fn activate(&self, services: Arc<dyn Services>) {
        native::set_services(services);
        Python::attach(|py| {
            if let Err(e) = self.host.bind(py).call_method1("activate", (self.generation.bind(py),)) {
                tracing::warn!("warning: activating Python: {}", error_text(py, &e));
            }
        });
    }

    /// Runs the `@on_init` hooks (after the UDFs are registered, so hooks can use them).
    pub fn run_init_hooks(&self) {
        Python::attach(|py| {
            if let Err(e) = self.host.bind(py).call_method1("run_hooks", (self.generation.bind(py), "init")) {
                tracing::warn!("warning: init hooks: {}", error_text(py, &e));
            }
        });
    }

    /// Runs `@on_shutdown` hooks and the shutdown of the plugins this engine owns (once; also
    /// when the engine is dropped, as a replaced generation is after its last call).
    pub fn shutdown(&self) {
        if self.shut_down.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        Python::attach(|py| {
            if let Err(e) = self.host.bind(py).call_method1("shutdown", (self.generation.bind(py),)) {
                tracing::warn!("warning: shutdown hooks: {}", error_text(py, &e));
            }
        });
    }

    /// Calls `func` of the module at `path` with `args` (already converted and validated by
    /// the executor), returning its result as JSON; an exception becomes its message.
    pub fn call(
        &self,
        path: &Path,
        func: &str,
        shown_path: &str,
        params: &[Param],
        args: &Map<String, Json>,
        ctx: CallContext,
    ) -> Result<Json, PythonError> {
        keep_thread_state();
        Python::attach(|py| {
            let run = || -> PyResult<Json> {
                let kwargs = PyDict::new(py);
                for (k, v) in args {
                    let value = match params.iter().find(|p| &p.name == k) {
                        Some(p) => convert::arg_to_py(py, v, &p.def)?,
                        None => convert::to_py(py, v)?,
                    };
                    kwargs.set_item(k, value)?;
                }
                let user = match &ctx.user {
                    Some(u) => convert::to_py(py, u)?.unbind(),
                    None => py.None(),
                };
                let native_ctx = Py::new(
                    py,
                    native::CallContext { events: ctx.events.clone(), user, session: ctx.session.clone() },
                )?;
                if let Some(c) = &ctx.cancel {
                    // SAFETY: the current thread's id, with the GIL held
                    let tid = unsafe { pyo3::ffi::PyThread_get_thread_ident() };
                    if !c.set_on_cancel(Box::new(move || interrupt(tid))) {
                        return Err(pyo3::exceptions::PyTimeoutError::new_err("the call was cancelled"));
                    }
                }
                let result = self.host.bind(py).call_method1(
                    "call",
                    (self.generation.bind(py), path.to_string_lossy().as_ref(), func, kwargs, native_ctx, shown_path),
                );
                if let Some(c) = &ctx.cancel {
                    c.clear_on_cancel();
                }
                convert::from_py(&result?, self.plain.bind(py), 0)
            };
            run().map_err(|e| PythonError::Exception(error_text(py, &e)))
        })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Udf {
    /// Calls the plugin method on one row of arguments.
    pub fn call(&self, args: &[Json]) -> Result<Json, PythonError> {
        static PLAIN: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
        keep_thread_state();
        Python::attach(|py| {
            let run = || -> PyResult<Json> {
                let plain =
                    PLAIN.get_or_try_init(py, || py.import("mxcp._host")?.getattr("plain").map(Bound::unbind))?;
                let values = args.iter().map(|a| convert::to_py(py, a)).collect::<PyResult<Vec<_>>>()?;
                let r = self.method.bind(py).call1(PyTuple::new(py, values)?)?;
                convert::from_py(&r, plain.bind(py), 0)
            };
            run().map_err(|e| PythonError::Exception(error_text(py, &e)))
        })
    }
}

/// A finding about an endpoint's Python function, from parsing its source (never running it).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFinding {
    /// `None`: in the Python file at line/column; `Some(param)`: at the YAML declaration of
    /// that parameter (`""`: the endpoint's source).
    pub yaml_param: Option<String>,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The call still works (an annotation that disagrees): reported as a warning.
    pub warning: bool,
}

/// Checks that `func` exists in the source at `path` (for [`ENTRY_POINT`]: the function the
/// call will resolve) and that its signature matches the declared parameters (names, required
/// ones, annotations).
pub fn check_function(
    path: &Path,
    func: &str,
    shown_path: &str,
    params: &[Param],
) -> Result<Vec<SourceFinding>, PythonError> {
    interpreter()?;
    Python::attach(|py| {
        let run = || -> PyResult<Vec<SourceFinding>> {
            let host = py.import("mxcp._check")?;
            let specs = PyList::empty(py);
            for p in params {
                let fmt = p.def.format.map(|f| f.as_str());
                specs.append((p.name.as_str(), p.def.ty.as_str(), fmt, p.def.default.is_some()))?;
            }
            let found = host.call_method1("check", (path.to_string_lossy().as_ref(), func, specs, shown_path))?;
            let mut out = Vec::new();
            for item in found.try_iter()? {
                let (place, line, column, message, severity): (String, usize, usize, String, String) =
                    item?.extract()?;
                let yaml_param = place.strip_prefix("yaml:").map(str::to_string);
                out.push(SourceFinding { yaml_param, line, column, message, warning: severity == "warning" });
            }
            Ok(out)
        };
        run().map_err(|e| PythonError::Exception(error_text(py, &e)))
    })
}
