//! The wall clock, read here and nowhere in core (every `Msg` carries its
//! time). A room of its own so that the journal, the leases and the sources
//! all read it without importing each other.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::time::Ts;

/// Now, in milliseconds since the epoch.
pub fn now() -> Ts {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Ts(i64::try_from(ms).unwrap_or(i64::MAX))
}
