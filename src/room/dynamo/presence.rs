//! Presence in a DynamoDB table: one item per session (`pk = "presence"`),
//! put again at every heartbeat, deleted when the session leaves, and
//! given an end of life (`expires`) so DynamoDB's TTL tidies up after the
//! ones that vanished. Presence items are the only ones backstop deletes.

use std::sync::Arc;

use super::{
    Fault, PRESENCE, TTL_ATTRIBUTE, Table, V, fault, get_bool, get_n, get_s, key, key_of, n, s,
};
use crate::room::Present;
use crate::room::presence::GONE;

pub(crate) fn put(table: &Arc<Table>, p: &Present) -> Result<(), Fault> {
    let mut m = key(PRESENCE, key_of(&p.session));
    m.insert("session".into(), s(&p.session));
    m.insert("operator".into(), s(&p.operator));
    m.insert("what".into(), s(&p.what));
    m.insert(
        "services".into(),
        s(&serde_json::to_string(&p.services).unwrap_or_default()),
    );
    m.insert("since_ms".into(), n(p.since_ms));
    m.insert("last_seen_ms".into(), n(p.last_seen_ms));
    m.insert("read_only".into(), V::Bool(p.read_only));
    m.insert("room".into(), s(&p.room));
    // Long after anyone would list it: TTL deletes lazily (up to days).
    m.insert(
        TTL_ATTRIBUTE.into(),
        n(p.last_seen_ms / 1000 + 10 * GONE.as_secs() as i64),
    );
    table.call(move |c, t| async move {
        c.put_item()
            .table_name(&t)
            .set_item(Some(m))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fault("PutItem", &e))
    })
}

pub(crate) fn remove(table: &Arc<Table>, session: &str) -> Result<(), Fault> {
    let k = key(PRESENCE, key_of(session));
    table.call(move |c, t| async move {
        c.delete_item()
            .table_name(&t)
            .set_key(Some(k))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fault("DeleteItem", &e))
    })
}

pub(crate) fn list(table: &Arc<Table>) -> Result<Vec<Present>, Fault> {
    let items = table.call(|c, t| async move {
        c.query()
            .table_name(&t)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(PRESENCE))
            .send()
            .await
            .map(|o| o.items().to_vec())
            .map_err(|e| fault("Query", &e))
    })?;
    Ok(items
        .iter()
        .filter_map(|m| {
            Some(Present {
                session: get_s(m, "session")?,
                operator: get_s(m, "operator")?,
                what: get_s(m, "what")?,
                services: serde_json::from_str(&get_s(m, "services")?).unwrap_or_default(),
                since_ms: get_n(m, "since_ms")?,
                last_seen_ms: get_n(m, "last_seen_ms")?,
                read_only: get_bool(m, "read_only"),
                room: get_s(m, "room").unwrap_or_default(),
            })
        })
        .collect())
}
