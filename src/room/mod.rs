//! The room: what several backstops share through one journal. Its rows
//! (append-only, one order, hash-chained), the driver's lease of each
//! service with its fencing token, who is present, and the live tail that
//! hands each console what the others wrote. One place holds all of it —
//! this host's SQLite file, or a DynamoDB table shared between hosts —
//! and both keep the same promises (docs/ARCHITECTURE.md, "The room").

use std::path::{Path, PathBuf};

pub mod chain;
pub mod dynamo;
mod error;
pub mod journal;
pub mod lease;
pub mod presence;
pub mod reader;
pub mod sqlite;
pub mod tail;

pub use error::Error;
pub use journal::{Entry, Fence, Health, Journal, Raw, Redactor, Row, Store};
pub use reader::Reader;

/// Where the journal is: this machine's SQLite file, or a DynamoDB table
/// shared between hosts — and then `file` is this host's replica of the
/// table, which reports read (`dynamo::sync` brings it up to date).
#[derive(Clone)]
pub struct Place {
    pub file: PathBuf,
    pub table: Option<std::sync::Arc<dynamo::Table>>,
}

impl Place {
    /// For messages: the file, or `DynamoDB table T`.
    pub fn describe(&self) -> String {
        match &self.table {
            Some(t) => format!("DynamoDB table {}", t.name),
            None => self.file.display().to_string(),
        }
    }
}

impl From<&Path> for Place {
    fn from(file: &Path) -> Self {
        Place {
            file: file.to_path_buf(),
            table: None,
        }
    }
}

impl From<&PathBuf> for Place {
    fn from(file: &PathBuf) -> Self {
        Place::from(file.as_path())
    }
}

impl From<&Place> for Place {
    fn from(p: &Place) -> Self {
        p.clone()
    }
}
