//! The Python package `remedy` (its native part, `remedy._remedy`): a thin face over
//! `remedy-app`, like the CLI. It only converts (Arrow tables to and from [`Table`]s, keyword
//! settings to the app's settings, errors to Python exceptions) and calls the app, with the GIL
//! released while the app works. The pure-Python part (`python/remedy`) turns pandas into Arrow
//! and back.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::prelude::*;
use pyo3::types::PyModule;

use remedy_core::Error;

/// mimalloc, as the CLI (see its `main.rs`): the app allocates many small row vectors and
/// training many large intermediates. Only Rust's own allocations go through it (Arrow buffers
/// handed to Python are released by their Rust callback).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod convert;
mod model;
mod ts;

/// The module `remedy._remedy`.
#[pymodule]
#[pyo3(name = "_remedy")]
fn remedy_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<model::Model>()?;
    m.add_class::<ts::TsModel>()?;
    m.add_class::<ts::Monitor>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// A Remedy error as the Python exception the package defines (`remedy._errors`): what the
/// CLI refuses with exit status 2 raises `BadInput` (a `ValueError`), anything else
/// `RemedyError`; the message is the CLI's.
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let class = if e.is_bad_input() {
        "BadInput"
    } else {
        "RemedyError"
    };
    raise(py, class, e.to_string())
}

/// The package's exception `class` with `message`.
pub(crate) fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    match py
        .import("remedy._errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((message.clone(),)))
    {
        Ok(value) => PyErr::from_value(value),
        // Only when the native module is used without its package.
        Err(_) => pyo3::exceptions::PyValueError::new_err(message),
    }
}

/// Runs `work` with the GIL released; a Remedy error becomes the package's exception and a
/// panic a `RemedyError` (never a panic across the boundary).
pub(crate) fn detached<T: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> Result<T, Error> + Send,
) -> PyResult<T> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(work))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(py, e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(raise(
                py,
                "RemedyError",
                format!("internal error (please report it): {what}"),
            ))
        }
    }
}
