//! The one error type of the library. Every variant names what is at fault (file, row, column,
//! edge or cycle) so that the CLI can print it on one line.

use std::path::PathBuf;

/// Result alias used across Remedy.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, split by whether the user's input is at fault
/// ([`Error::is_bad_input`]) or the program hit an environment problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A value in a data file could not be used. `row` is 1-based and counts data rows (the
    /// header is row 0).
    #[error("{file}: row {row}, column '{column}': {message}")]
    Cell {
        file: String,
        row: usize,
        column: String,
        message: String,
    },
    /// A file is malformed as a whole (bad header, bad syntax, empty, not UTF-8...).
    #[error("{file}: {message}")]
    Format { file: String, message: String },
    /// A required column is absent.
    #[error("{file}: missing column '{column}'")]
    MissingColumn { file: String, column: String },
    /// The graph has a directed cycle; the nodes are listed in cycle order.
    #[error("graph has a cycle: {}", cycle_text(.cycle))]
    Cycle { cycle: Vec<String> },
    /// An edge or intervention names a node that the graph does not have.
    #[error("unknown node '{name}'{}", context_text(.context))]
    UnknownNode { name: String, context: String },
    /// Anything else the user asked for that cannot be done (bad argument value, unknown
    /// dataset, incompatible shapes).
    #[error("{0}")]
    Invalid(String),
}

fn cycle_text(cycle: &[String]) -> String {
    let mut parts: Vec<&str> = cycle.iter().map(String::as_str).collect();
    if let Some(first) = cycle.first() {
        parts.push(first);
    }
    parts.join(" -> ")
}

fn context_text(context: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!(" ({context})")
    }
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Format`].
    pub fn format(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Format {
            file: file.into(),
            message: message.into(),
        }
    }

    /// True when the user's input is at fault (the CLI exits with status 2), false for
    /// environment failures such as an unreadable disk (status 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData
            ),
            _ => true,
        }
    }
}
