//! Why the room did not do what it was asked: one type for every backend,
//! so a caller can tell a refusal (the room's rules held) from a journal
//! that does not answer (nothing is known) without reading sentences.

/// What went wrong in the room.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The place cannot be used: a file that is not a database, a
    /// directory, a disk that is full. Nothing was written.
    #[error("{0}")]
    Unusable(String),
    /// The journal's file is there but this account may not write it.
    #[error(
        "{file} cannot be written by {user}: it belongs to {owner} (group {group}, mode {mode:o}); ask its owner to run `backstop journal init` for a group you are in, or use a journal of your own"
    )]
    Permission {
        file: String,
        user: String,
        owner: String,
        group: String,
        mode: u32,
    },
    /// No answer that says what happened (a table that is throttled, slow,
    /// unreachable): whether a write took effect is unknown.
    #[error("{0}")]
    Down(String),
    /// The fence held: the lease this write was made under is no longer
    /// current. Nothing was written.
    #[error(
        "the lease of {service} (token {token}) is no longer this backstop's: {now}; nothing was changed"
    )]
    Fenced {
        service: String,
        token: i64,
        /// Who holds it now, in words.
        now: String,
    },
    /// A guard judged from every row of the room refused the change.
    #[error("{0}; nothing was changed")]
    Guarded(String),
    /// The intent has its outcome already: an intent has exactly one.
    #[error("change {intent} has its outcome already ({by}): a second one is not recorded")]
    Answered { intent: i64, by: String },
    /// This backstop only watches: it writes no intent, lease or approval.
    #[error("this backstop is read-only: it {0}, so it changes nothing")]
    ReadOnly(&'static str),
    /// Another condition did not hold (the table's own refusal).
    #[error("refused: {0}")]
    Refused(String),
    /// The journal's writer has stopped (the process is ending).
    #[error("the journal is closed")]
    Closed,
}

impl Error {
    /// The room's rules refused it (as opposed to not knowing).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::Fenced { .. }
                | Error::Guarded(_)
                | Error::Answered { .. }
                | Error::ReadOnly(_)
                | Error::Refused(_)
        )
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Unusable(e.to_string())
    }
}
