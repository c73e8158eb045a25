//! Starting the statically linked CPython: an explicit `PyConfig` (no path guessing), the
//! standard library from the cache, and the two modes: embedded (mxcp drives it) and
//! Python mode (the executable behaves as `python3`).

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use pyo3::ffi;

/// Where the interpreter's files are.
pub(super) struct Layout {
    /// The extracted standard library (`<home>/lib/python3.11`).
    pub home: PathBuf,
    /// What `sys.executable` says: a `python3` link back to this executable.
    pub executable: PathBuf,
    /// Module search path entries after the standard library.
    pub extra_paths: Vec<PathBuf>,
}

impl Layout {
    fn search_path(&self) -> Vec<PathBuf> {
        let lib = self.home.join("lib");
        let mut v = vec![lib.join("python3.11"), lib.join("python3.11/lib-dynload"), lib.join("mxcp")];
        v.extend(self.extra_paths.iter().cloned());
        v
    }
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}

fn check(status: ffi::PyStatus, what: &str) -> Result<(), String> {
    // SAFETY: reading a status returned by the C API
    if unsafe { ffi::PyStatus_Exception(status) } != 0 {
        let msg = if status.err_msg.is_null() {
            String::new()
        } else {
            // SAFETY: CPython sets err_msg to a static C string
            unsafe { std::ffi::CStr::from_ptr(status.err_msg) }.to_string_lossy().into_owned()
        };
        return Err(format!("{what}: {msg}"));
    }
    Ok(())
}

/// Fills the fields both modes share. SAFETY: `c` is an initialised PyConfig.
unsafe fn common(c: *mut ffi::PyConfig, layout: &Layout) -> Result<(), String> {
    // SAFETY: per this function's contract, `c` is an initialised PyConfig; the strings set are copied by CPython.
    unsafe {
        let exe = cstr(&layout.executable);
        check(ffi::PyConfig_SetBytesString(c, &mut (*c).executable, exe.as_ptr()), "executable")?;
        check(ffi::PyConfig_SetBytesString(c, &mut (*c).base_executable, exe.as_ptr()), "base_executable")?;
        check(ffi::PyConfig_SetBytesString(c, &mut (*c).program_name, exe.as_ptr()), "program_name")?;
        let home = cstr(&layout.home);
        for field in
            [&mut (*c).home, &mut (*c).prefix, &mut (*c).exec_prefix, &mut (*c).base_prefix, &mut (*c).base_exec_prefix]
        {
            check(ffi::PyConfig_SetBytesString(c, field, home.as_ptr()), "prefix")?;
        }
        // the path is given, never searched for (no landmark files exist outside the cache)
        (*c).module_search_paths_set = 1;
        (*c).pathconfig_warnings = 0;
        (*c).user_site_directory = 0;
        for p in layout.search_path() {
            let w = wide(&p);
            check(ffi::PyWideStringList_Append(&mut (*c).module_search_paths, w.as_ptr()), "sys.path")?;
        }
    }
    Ok(())
}

fn wide(p: &Path) -> Vec<libc::wchar_t> {
    let s = p.to_string_lossy();
    s.chars().map(|c| c as libc::wchar_t).chain(std::iter::once(0)).collect()
}

/// UTF-8 mode, whatever the machine's locale. SAFETY: before any other CPython call.
unsafe fn preinit(isolated: bool) -> Result<(), String> {
    // SAFETY: per this function's contract, nothing else has called into CPython yet.
    unsafe {
        let mut pre: ffi::PyPreConfig = std::mem::zeroed();
        if isolated {
            ffi::PyPreConfig_InitIsolatedConfig(&mut pre);
        } else {
            ffi::PyPreConfig_InitPythonConfig(&mut pre);
        }
        pre.utf8_mode = 1;
        check(ffi::Py_PreInitialize(&pre), "pre-initialising Python")
    }
}

/// Starts the interpreter for mxcp's own use, then releases the GIL so any thread can attach.
/// Must be called once; the calling thread becomes Python's main thread.
pub(super) fn start_embedded(layout: &Layout, argv0: &Path) -> Result<(), String> {
    // Keep whatever SIGINT disposition the process has: importing `signal` (asyncio and
    // subprocess do) installs Python's handler over SIG_DFL, which would turn Ctrl-C into a
    // KeyboardInterrupt at a random point of some later call instead of stopping mxcp.
    // SAFETY: all-zero bytes are a valid `sigaction` (integers, a null handler); it is only an out-parameter.
    let mut saved: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: querying the current action into a valid out-pointer
    unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut saved) };
    // SAFETY: the interpreter starts once per process (`interpreter()`'s OnceLock), before any
    // other CPython call; the config is initialised by CPython before it is filled and read.
    unsafe {
        preinit(true)?;
        let mut cfg: ffi::PyConfig = std::mem::zeroed();
        let c: *mut ffi::PyConfig = &mut cfg;
        ffi::PyConfig_InitIsolatedConfig(c);
        let r = (|| {
            common(c, layout)?;
            (*c).install_signal_handlers = 0;
            // the cache is shared and immutable; unchecked-hash pycs never need rewriting
            (*c).write_bytecode = 0;
            (*c).site_import = 0;
            (*c).parse_argv = 0;
            // prints from hooks and tools appear at once (on stderr when serving stdio)
            (*c).buffered_stdio = 0;
            let a0 = cstr(argv0);
            let mut argv = [a0.as_ptr()];
            check(ffi::PyConfig_SetBytesArgv(c, 1, argv.as_mut_ptr()), "sys.argv")?;
            check(ffi::Py_InitializeFromConfig(c), "starting Python")
        })();
        ffi::PyConfig_Clear(c);
        r?;
        let code = c"import _signal";
        ffi::PyRun_SimpleString(code.as_ptr());
        libc::sigaction(libc::SIGINT, &saved, std::ptr::null_mut());
        ffi::PyEval_SaveThread();
    }
    Ok(())
}

/// Python mode: this executable is `python3` (`-c`, `-m`, scripts, the REPL). Returns the exit
/// status of `Py_RunMain`.
pub(super) fn run_main(layout: &Layout, args: &[OsString]) -> i32 {
    // SAFETY: called once, before any other CPython call in this process (Python mode owns the process).
    unsafe {
        if let Err(e) = preinit(false) {
            tracing::error!("error: {e}");
            return 1;
        }
        let mut cfg: ffi::PyConfig = std::mem::zeroed();
        let c: *mut ffi::PyConfig = &mut cfg;
        ffi::PyConfig_InitPythonConfig(c);
        let r = (|| {
            common(c, layout)?;
            // PYTHONPATH is honoured like a normal python: ahead of the standard library
            if let Some(pp) = std::env::var_os("PYTHONPATH").filter(|_| std::env::var_os("PYTHONSAFEPATH").is_none()) {
                let mut list: ffi::PyWideStringList = std::mem::zeroed();
                for p in std::env::split_paths(&pp).filter(|p| !p.as_os_str().is_empty()) {
                    check(ffi::PyWideStringList_Append(&mut list, wide(&p).as_ptr()), "PYTHONPATH")?;
                }
                for i in 0..(*c).module_search_paths.length {
                    check(ffi::PyWideStringList_Append(&mut list, *(*c).module_search_paths.items.offset(i)), "path")?;
                }
                check(
                    ffi::PyConfig_SetWideStringList(c, &mut (*c).module_search_paths, list.length, list.items),
                    "sys.path",
                )?;
            }
            (*c).parse_argv = 1;
            let owned: Vec<CString> = args.iter().map(|a| CString::new(a.as_bytes()).unwrap_or_default()).collect();
            let mut argv: Vec<*const libc::c_char> = owned.iter().map(|a| a.as_ptr()).collect();
            check(ffi::PyConfig_SetBytesArgv(c, argv.len() as ffi::Py_ssize_t, argv.as_mut_ptr()), "sys.argv")?;
            check(ffi::Py_InitializeFromConfig(c), "starting Python")
        })();
        ffi::PyConfig_Clear(c);
        if let Err(e) = r {
            tracing::error!("error: {e}");
            return 1;
        }
        ffi::Py_RunMain()
    }
}
