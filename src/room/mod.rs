//! The room: what several backstops share through one journal. Its rows
//! (append-only, one order, hash-chained), the driver's lease of each
//! service with its fencing token, who is present, and the live tail that
//! hands each console what the others wrote. One place holds all of it —
//! this host's SQLite file, or a DynamoDB table shared between hosts —
//! and both keep the same promises (docs/ARCHITECTURE.md, "The room").

use std::path::{Path, PathBuf};

pub mod access;
pub mod chain;
pub mod dynamo;
mod error;
pub mod journal;
pub mod lease;
pub mod presence;
pub mod reader;
pub mod sqlite;
pub mod tail;
pub mod vouch;

pub use error::Error;
pub use journal::{Entry, Fence, Health, Journal, Raw, Redactor, Row};
pub use lease::{Claim, Holder, Lease, Taken};
pub use presence::Present;
pub use reader::Reader;

use std::time::Duration;

/// One place that holds a room: its rows, the leases of its services and
/// who is present. Two backends keep the same promises: `sqlite::Sqlite`
/// (this host's file) and `dynamo::Dynamo` (a table shared between
/// hosts). An instance is bound to one room (`Place::room`): its leases
/// and its people are that room's, and every row it writes names it.
pub trait Backend: Send {
    // The rows.

    /// Append `rows` as `session`'s, in order, all or none; the last row's id.
    fn append(&mut self, session: &str, rows: &[Entry]) -> Result<i64, Error>;
    /// Append one row only if `fence` is still its service's current lease,
    /// checked atomically with the write; otherwise say who holds it now.
    fn append_fenced(&mut self, session: &str, row: &Entry, fence: &Fence) -> Result<i64, Error>;
    /// Rows after id `after` (of every room), oldest first, at most `limit`.
    fn since(&self, after: i64, limit: usize) -> Result<Vec<Row>, Error>;
    /// The newest row's id (0 for an empty journal).
    fn head(&self) -> Result<i64, Error>;
    /// Rows appended but not yet stored (a backend that was unreachable
    /// keeps them, in order, until it answers again).
    fn pending(&self) -> usize {
        0
    }
    /// Store what is pending, if anything.
    fn flush(&mut self, _session: &str) -> Result<(), Error> {
        Ok(())
    }

    // The leases: one driver per service of the room.

    /// Who holds `service` now (released leases are nobody's).
    fn holder(&self, service: &str) -> Result<Option<Holder>, Error>;
    /// Take the lease of `service` if it is free or already ours — and, as
    /// `claim` allows, a driver's that is gone (its heartbeat silent longer
    /// than `expiry`, a take-over a person confirmed) or any. A new holder
    /// gets a new token; the one who holds it keeps theirs.
    fn take(
        &mut self,
        service: &str,
        session: &str,
        operator: &str,
        now_ms: i64,
        expiry: Duration,
        claim: Claim,
    ) -> Result<Taken, Error>;
    /// Heartbeat: `false` when the lease is no longer this one (taken
    /// over, or released): the holder must stop acting at once.
    fn renew(&self, lease: &Lease, now_ms: i64) -> Result<bool, Error>;
    /// Give the lease up (the token stays, so the next one is higher).
    fn release(&self, lease: &Lease) -> Result<(), Error>;
    /// Hand `lease` to session `to`, only if `lease` is still the current
    /// one; the new holder gets the next token. `None`: it was not ours.
    fn hand(
        &mut self,
        lease: &Lease,
        to: &str,
        to_operator: &str,
        now_ms: i64,
    ) -> Result<Option<Lease>, Error>;
    /// Every held lease of the room, by service.
    fn leases(&self) -> Result<Vec<(String, Holder)>, Error>;
    /// Whether a holder seen now has been watched long enough to be judged
    /// (a table's lease by its version not moving for `expiry` on this
    /// process's clock; a file's by its heartbeat, at once).
    fn judged(&self, _service: &str, _expiry: Duration) -> bool {
        true
    }

    // Who is here.

    /// Say that `p` is here (again).
    fn present(&self, p: &Present) -> Result<(), Error>;
    /// Say that `p` is still here.
    fn beat(&self, p: &Present, now_ms: i64) -> Result<(), Error>;
    /// `session` left.
    fn leave(&self, session: &str) -> Result<(), Error>;
    /// Everyone who said they were here, in every room (ages are the
    /// reader's to judge).
    fn people(&self) -> Result<Vec<Present>, Error>;

    // Who answered an approval request (`vouch`).

    /// Leave the proof that this process's own account gave the answer
    /// `token`, where only that account can have left it.
    fn vouch(&self, token: &str) -> Result<(), Error>;
    /// Who left the proof of the answer `token` — `claimed` is the AWS user
    /// id the answer names, on a table —, as the place vouches for them.
    fn vouched(&self, token: &str, claimed: Option<&str>) -> Result<Option<String>, Error>;
}

/// The backend of `place`, bound to its room.
pub fn open(place: &Place) -> Result<Box<dyn Backend>, Error> {
    Ok(match &place.table {
        Some(t) => Box::new(dynamo::Dynamo::new(t.clone(), &place.file, &place.room)),
        None => Box::new(sqlite::Sqlite::open(&place.file, &place.room)?),
    })
}

/// Where the journal is: this machine's SQLite file, or a DynamoDB table
/// shared between hosts — and then `file` is this host's replica of the
/// table, which reports read (`dynamo::sync` brings it up to date).
#[derive(Clone)]
pub struct Place {
    pub file: PathBuf,
    pub table: Option<std::sync::Arc<dynamo::Table>>,
    /// The room within it: the war room of one configuration (its name,
    /// `[journal] room`). Leases, presence and the live tail are the
    /// room's; `""` reads every room (reports, `who`).
    pub room: String,
}

impl Place {
    /// The same place, in `room`.
    pub fn in_room(mut self, room: &str) -> Self {
        self.room = room.to_string();
        self
    }

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
            room: String::new(),
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
