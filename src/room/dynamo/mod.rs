//! The journal in a DynamoDB table, for a war room spread over several
//! hosts: every backstop that names the table shares its rows, its leases
//! and its presence. The guarantees are the SQLite file's, by DynamoDB's
//! own means (docs/ARCHITECTURE.md, "The journal across hosts"):
//!
//! - **Append-only.** A row is written with a conditional put
//!   (`attribute_not_exists`) and never updated or deleted; the IAM
//!   policies in the README grant no `UpdateItem`/`DeleteItem` on rows.
//! - **One order, without gaps.** Rows share one partition (`pk =
//!   "journal"`) and take the next id (`sk`) after the newest: of two
//!   writers racing for an id, the second is refused and tries the next.
//!   Every host reads the same rows in the same order, chained by hash.
//! - **Fencing.** An intent is written in one `TransactWriteItems` with a
//!   condition on the lease item: only while its token is current.
//! - **Nothing lost, nothing twice.** Rows the table does not take (it is
//!   throttled, slow, unreachable, the credentials expired) stay in an
//!   outbox, in order, and are written when it answers; each carries a
//!   `uid`, so a write whose answer was lost is found, not repeated.
//!
//! The SDK is async and the journal's writer is a thread: calls run on a
//! small runtime of their own (`Table::call`), so any thread can wait for
//! one, inside a runtime or not.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, ConditionCheck, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem,
};

use super::{Backend, Claim, Entry, Error, Fence, Holder, Lease, Present, Raw, Row, Taken};

pub mod lease;
pub mod presence;
use crate::aws::Aws;
use crate::config::aws::AwsSettings;

pub use aws_sdk_dynamodb::types::AttributeValue as V;

/// The partition of the journal's rows.
pub const ROWS: &str = "journal";
/// The partition of the leases, one item per service.
pub const LEASES: &str = "lease";
/// The partition of who is here, one item per session.
pub const PRESENCE: &str = "presence";
/// The partitions of the proofs of who answered an approval: one per AWS
/// principal, `vouch#` and its user id, which IAM lets only that
/// principal write (`${aws:userid}` in the printed policies).
pub const VOUCH: &str = "vouch#";

/// The partition that keeps each intent to one outcome: an item per
/// intent answered (`sk` = the intent's id), put with the outcome's row in
/// one transaction, only if it is not there.
pub const ANSWERED: &str = "outcome";
/// Presence items carry their end of life here (DynamoDB's TTL removes
/// them, lazily: it tidies up and decides nothing).
pub const TTL_ATTRIBUTE: &str = "expires";

/// Rows per transaction when a burst is written.
const BURST: usize = 25;

/// A DynamoDB table holding a journal.
pub struct Table {
    pub name: String,
    aws: Arc<Aws>,
    client: tokio::sync::OnceCell<Client>,
}

/// Why a call did not do what it asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A condition did not hold: nothing was written. For a transaction,
    /// each item's reason (`ConditionalCheckFailed`, `None`).
    Refused(Vec<String>),
    /// No answer that says what happened: throttled, slow, unreachable,
    /// credentials refused. Whether a write took effect is unknown.
    Down(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Refused(why) => write!(f, "refused ({})", why.join(", ")),
            Fault::Down(why) => f.write_str(why),
        }
    }
}

impl From<Fault> for Error {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Refused(why) => Error::Refused(why.join(", ")),
            Fault::Down(why) => Error::Down(why),
        }
    }
}

/// The runtime DynamoDB calls run on, whoever waits for them.
fn runtime() -> Result<&'static tokio::runtime::Runtime, Fault> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dynamodb")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start DynamoDB's runtime: {e}"))
    })
    .as_ref()
    .map_err(|e| Fault::Down(e.clone()))
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DynamoDB table {}", self.name)
    }
}

impl Table {
    pub fn new(name: &str, settings: AwsSettings) -> Arc<Table> {
        Arc::new(Table {
            name: name.to_string(),
            aws: Aws::new(settings),
            client: tokio::sync::OnceCell::new(),
        })
    }

    /// The client, with short timeouts: a journal that takes seconds to
    /// answer is down for the purpose of acting (nothing acts without a
    /// durable intent), and its rows wait in the outbox.
    async fn client(&self) -> Result<&Client, Fault> {
        self.client
            .get_or_try_init(|| async {
                let sdk = self
                    .aws
                    .config()
                    .await
                    .map_err(|e| Fault::Down(e.to_string()))?;
                let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .connect_timeout(Duration::from_secs(2))
                            .operation_attempt_timeout(Duration::from_secs(2))
                            .operation_timeout(Duration::from_secs(5))
                            .build(),
                    )
                    .retry_config(
                        aws_config::retry::RetryConfig::standard()
                            .with_max_attempts(2)
                            .with_initial_backoff(Duration::from_millis(100)),
                    )
                    .build();
                Ok(Client::from_conf(conf))
            })
            .await
    }

    /// Run `f` with the client on DynamoDB's runtime and wait for its answer.
    pub fn call<T, F, Fut>(self: &Arc<Self>, f: F) -> Result<T, Fault>
    where
        T: Send + 'static,
        F: FnOnce(Client, String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, Fault>> + Send + 'static,
    {
        let rt = runtime()?;
        let me = self.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        rt.spawn(async move {
            let r = match me.client().await {
                Ok(c) => f(c.clone(), me.name.clone()).await,
                Err(e) => Err(e),
            };
            let _ = tx.send(r);
        });
        rx.recv()
            .map_err(|_| Fault::Down("the DynamoDB call was dropped".into()))?
    }

    /// As `call`, for async callers: the wait happens off their runtime.
    pub async fn call_async<T, F, Fut>(self: &Arc<Self>, f: F) -> Result<T, Fault>
    where
        T: Send + 'static,
        F: FnOnce(Client, String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, Fault>> + Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.call(f))
            .await
            .map_err(|e| Fault::Down(format!("the DynamoDB call failed: {e}")))?
    }
}

/// An SDK error as a fault: a condition that did not hold, or no answer.
pub fn fault<E, R>(call: &'static str, e: &SdkError<E, R>) -> Fault
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(s) = e
        && s.err().code() == Some("ConditionalCheckFailedException")
    {
        return Fault::Refused(vec!["ConditionalCheckFailed".into()]);
    }
    let said = crate::aws::describe(call, e).to_string();
    // The one fault whose remedy is ours to say.
    if let SdkError::ServiceError(s) = e
        && s.err().code() == Some("ResourceNotFoundException")
    {
        return Fault::Down(format!(
            "{said} (no such table here: `backstop journal init` creates it)"
        ));
    }
    Fault::Down(said)
}

fn transact_fault(e: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>) -> Fault {
    if let SdkError::ServiceError(s) = e
        && let TransactWriteItemsError::TransactionCanceledException(c) = s.err()
    {
        let reasons: Vec<String> = c
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None").to_string())
            .collect();
        // Cancelled for a reason other than a condition (throttling, a
        // conflict with another transaction): nothing was written, but the
        // call may succeed when tried again.
        if reasons.iter().any(|r| r == "ConditionalCheckFailed") {
            return Fault::Refused(reasons);
        }
        return Fault::Down(format!(
            "TransactWriteItems cancelled ({})",
            reasons.join(", ")
        ));
    }
    fault("TransactWriteItems", e)
}

/// A stable number for a name, the sort key of its item in a partition
/// (53 bits: exact in every JSON number and every SDK).
pub fn key_of(name: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(b) >> 11) as i64
}

pub fn n(v: i64) -> V {
    V::N(v.to_string())
}

pub fn s(v: &str) -> V {
    V::S(v.to_string())
}

pub fn get_s(item: &HashMap<String, V>, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

pub fn get_n(item: &HashMap<String, V>, k: &str) -> Option<i64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

pub fn get_bool(item: &HashMap<String, V>, k: &str) -> bool {
    item.get(k).and_then(|v| v.as_bool().ok()).copied() == Some(true)
}

/// A row as an item.
fn item(r: &Raw, uid: Option<&str>, fence: Option<&Fence>) -> HashMap<String, V> {
    let mut m = HashMap::from([
        ("pk".to_string(), s(ROWS)),
        ("sk".to_string(), n(r.id)),
        ("at".to_string(), n(r.at)),
        ("kind".to_string(), s(&r.kind)),
        ("scope".to_string(), s(&r.scope)),
        ("level".to_string(), s(&r.level)),
        ("text".to_string(), s(&r.text)),
        ("operator".to_string(), s(&r.operator)),
    ]);
    let mut put = |k: &str, v: Option<V>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    put("incident", r.incident.map(n));
    put("ref", r.reference.map(n));
    put("data", r.data.as_deref().map(s));
    put("hash", r.hash.as_deref().map(s));
    put("session", r.session.as_deref().map(s));
    put("room", r.room.as_deref().map(s));
    put("uid", uid.map(s));
    put(
        "fence",
        fence.map(|f| s(&format!("{}:{}", f.service, f.token))),
    );
    m
}

/// An item as a row (`None` for an item that is not one).
fn raw(m: &HashMap<String, V>) -> Option<Raw> {
    Some(Raw {
        id: get_n(m, "sk")?,
        at: get_n(m, "at")?,
        kind: get_s(m, "kind")?,
        scope: get_s(m, "scope")?,
        level: get_s(m, "level")?,
        text: get_s(m, "text")?,
        operator: get_s(m, "operator")?,
        incident: get_n(m, "incident"),
        reference: get_n(m, "ref"),
        data: get_s(m, "data"),
        hash: get_s(m, "hash"),
        session: get_s(m, "session"),
        room: get_s(m, "room"),
    })
}

/// The key of an item.
pub fn key(pk: &str, sk: i64) -> HashMap<String, V> {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), n(sk))])
}

/// Rows after `after`, oldest first, at most `limit` (one page).
async fn rows_after(c: &Client, table: &str, after: i64, limit: usize) -> Result<Vec<Raw>, Fault> {
    let out = c
        .query()
        .table_name(table)
        .key_condition_expression("pk = :p AND sk > :s")
        .expression_attribute_values(":p", s(ROWS))
        .expression_attribute_values(":s", n(after))
        .consistent_read(true)
        .limit(limit.clamp(1, 1000) as i32)
        .send()
        .await
        .map_err(|e| fault("Query", &e))?;
    Ok(out.items().iter().filter_map(raw).collect())
}

/// The newest row (id and hash), none in an empty table.
async fn newest(c: &Client, table: &str) -> Result<Option<Raw>, Fault> {
    let out = c
        .query()
        .table_name(table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s(ROWS))
        .scan_index_forward(false)
        .consistent_read(true)
        .limit(1)
        .send()
        .await
        .map_err(|e| fault("Query", &e))?;
    Ok(out.items().first().and_then(raw))
}

/// The item that keeps intent `intent` to one outcome (row `row`).
fn answered_item(intent: i64, row: i64) -> HashMap<String, V> {
    let mut m = key(ANSWERED, intent);
    m.insert("row".into(), n(row));
    m
}

/// The items of an outcome's row: the marker of its intent first.
fn with_marker(r: &Raw, row: HashMap<String, V>) -> Vec<HashMap<String, V>> {
    match (r.kind.as_str(), r.reference) {
        ("outcome", Some(intent)) => vec![answered_item(intent, r.id), row],
        _ => vec![row],
    }
}

/// Write rows (already numbered and chained): each only if its id is free.
async fn put_rows(c: &Client, table: &str, items: Vec<HashMap<String, V>>) -> Result<(), Fault> {
    if let [one] = items.as_slice() {
        return c
            .put_item()
            .table_name(table)
            .set_item(Some(one.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fault("PutItem", &e));
    }
    let mut tx = c.transact_write_items();
    for it in items {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(it))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| Fault::Down(format!("cannot build a put: {e}")))?;
        tx = tx.transact_items(TransactWriteItem::builder().put(put).build());
    }
    tx.send().await.map(|_| ()).map_err(|e| transact_fault(&e))
}

/// A room in a table: its rows (the writer's store), its leases and its
/// people.
pub struct Dynamo {
    table: Arc<Table>,
    /// The room this instance belongs to: rows name it, leases are its.
    room: String,
    /// This host's replica of the table: the room's rules judge an intent
    /// from every row up to the one before it, read there.
    replica: std::path::PathBuf,
    /// The newest row this writer knows, and its hash: the next row's id
    /// and chain. Refreshed whenever another writer got there first.
    last: Option<(i64, String)>,
    /// Rows handed over and not yet in the table, oldest first, each with
    /// the uid that finds it there if a write's answer was lost.
    outbox: VecDeque<(String, Entry)>,
    seq: u64,
    /// A write whose outcome is unknown went to ids after this one: the
    /// outbox's rows found there are not written again.
    unsure_after: Option<i64>,
}

impl Dynamo {
    pub fn new(table: Arc<Table>, replica: &Path, room: &str) -> Self {
        Dynamo {
            table,
            room: room.to_string(),
            replica: replica.to_path_buf(),
            last: None,
            outbox: VecDeque::new(),
            seq: 0,
            unsure_after: None,
        }
    }

    fn last(&mut self) -> Result<(i64, String), Fault> {
        if let Some(l) = &self.last {
            return Ok(l.clone());
        }
        let newest = self
            .table
            .call(|c, t| async move { newest(&c, &t).await })?;
        let l = newest.map_or((0, String::new()), |r| (r.id, r.hash.unwrap_or_default()));
        self.last = Some(l.clone());
        Ok(l)
    }

    /// Drop from the outbox what an unanswered write did store after all.
    fn settle(&mut self, session: &str) -> Result<(), Fault> {
        let Some(after) = self.unsure_after else {
            return Ok(());
        };
        let mut found = HashSet::new();
        let mut from = after;
        loop {
            let page = self.table.call(move |c, t| async move {
                let out = c
                    .query()
                    .table_name(&t)
                    .key_condition_expression("pk = :p AND sk > :s")
                    .expression_attribute_values(":p", s(ROWS))
                    .expression_attribute_values(":s", n(from))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| fault("Query", &e))?;
                Ok(out.items().to_vec())
            })?;
            let Some(last) = page.last().and_then(|m| get_n(m, "sk")) else {
                break;
            };
            from = last;
            found.extend(
                page.iter()
                    .filter(|m| get_s(m, "session").as_deref() == Some(session))
                    .filter_map(|m| get_s(m, "uid")),
            );
        }
        self.outbox.retain(|(uid, _)| !found.contains(uid));
        self.unsure_after = None;
        Ok(())
    }

    /// Write the outbox, in order; the id of the last row written.
    fn drain(&mut self, session: &str) -> Result<i64, Fault> {
        let mut collisions = 0;
        loop {
            // A write refused or unanswered may have been this writer's own
            // (an SDK retry after a lost answer is refused by its first
            // attempt's row): what is there is not written again.
            self.settle(session)?;
            if self.outbox.is_empty() {
                break;
            }
            let (id, prev) = self.last()?;
            let take = self.outbox.len().min(BURST);
            let mut hash = prev;
            let mut items = Vec::with_capacity(take);
            // Which outbox row each item writes, and whether it is the
            // marker that keeps an intent to one outcome.
            let mut of = Vec::with_capacity(take);
            for (i, (uid, e)) in self.outbox.iter().take(take).enumerate() {
                let r = Raw::of(id + 1 + i as i64, e, session, &self.room, &hash);
                hash = r.hash.clone().unwrap_or_default();
                for it in with_marker(&r, item(&r, Some(uid), None)) {
                    of.push((
                        i,
                        it.get("pk").and_then(|v| v.as_s().ok()).map(String::as_str)
                            == Some(ANSWERED),
                    ));
                    items.push(it);
                }
            }
            let table = self.table.clone();
            match table.call(move |c, t| async move { put_rows(&c, &t, items).await }) {
                Ok(()) => {
                    self.outbox.drain(..take);
                    self.last = Some((id + take as i64, hash));
                }
                Err(Fault::Refused(reasons)) => {
                    // An outcome for an intent answered already is not
                    // written: nothing of the batch was; the rest goes again.
                    let twice: Vec<usize> = reasons
                        .iter()
                        .enumerate()
                        .filter(|(k, r)| {
                            *r == "ConditionalCheckFailed" && of.get(*k).is_some_and(|(_, m)| *m)
                        })
                        .filter_map(|(k, _)| of.get(k).map(|(i, _)| *i))
                        .collect();
                    if !twice.is_empty() {
                        for i in twice.into_iter().rev() {
                            if let Some((_, e)) = self.outbox.remove(i) {
                                tracing::warn!(
                                    "journal: a second outcome for change {} was not recorded: {}",
                                    e.reference.unwrap_or_default(),
                                    e.text
                                );
                            }
                        }
                        continue;
                    }
                    // Another writer took the id: chain after its row.
                    self.last = None;
                    self.unsure_after = Some(id);
                    collisions += 1;
                    if collisions > 100 {
                        return Err(Fault::Down(
                            "the table's newest row keeps moving: gave up for now".into(),
                        ));
                    }
                }
                Err(down) => {
                    self.last = None;
                    self.unsure_after = Some(id);
                    return Err(down);
                }
            }
        }
        Ok(self.last.as_ref().map_or(0, |l| l.0))
    }

    /// Whether row `id` is the one this writer tried to write as `uid`.
    fn is_mine(&self, id: i64, uid: &str) -> Result<bool, Fault> {
        let k = key(ROWS, id);
        let got = self.table.call(move |c, t| async move {
            c.get_item()
                .table_name(&t)
                .set_key(Some(k))
                .consistent_read(true)
                .send()
                .await
                .map(|o| o.item().and_then(|m| get_s(m, "uid")))
                .map_err(|e| fault("GetItem", &e))
        })?;
        Ok(got.as_deref() == Some(uid))
    }

    fn unreachable(&self, why: &Fault) -> String {
        let kept = self.outbox.len();
        format!(
            "DynamoDB table {} does not answer: {why}{}",
            self.table.name,
            if kept > 0 {
                format!("; {kept} rows kept here until it does")
            } else {
                String::new()
            }
        )
    }
}

impl Dynamo {
    /// The room's rules for intent `e`, judged from every row of the table
    /// up to its newest, read into this host's replica: the newest row
    /// (id and hash) they were judged up to. The intent is then put at the
    /// next id only if that id is still free, so no row can slip in
    /// between the judgement and the write.
    fn judged(&mut self, service: &str, e: &Entry) -> Result<(i64, String), Error> {
        sync(&self.table, &self.replica).map_err(|x| Error::Down(format!("{x:#}")))?;
        let conn =
            super::sqlite::connect(&self.replica).map_err(|x| Error::Unusable(format!("{x:#}")))?;
        if e.kind == "intent" {
            super::sqlite::rules(&conn, &self.room, service, e).map_err(Error::Guarded)?;
        }
        let head: Option<(i64, Option<String>)> = conn
            .query_row(
                "SELECT id, hash FROM journal ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok();
        let head = head.map_or((0, String::new()), |(id, h)| (id, h.unwrap_or_default()));
        self.last = Some(head.clone());
        Ok(head)
    }
}

impl Backend for Dynamo {
    fn append(&mut self, session: &str, rows: &[Entry]) -> Result<i64, Error> {
        for e in rows {
            self.seq += 1;
            self.outbox
                .push_back((format!("{session}/{}", self.seq), e.clone()));
        }
        self.drain(session)
            .map_err(|f| Error::Down(self.unreachable(&f)))
    }

    fn append_fenced(&mut self, session: &str, e: &Entry, f: &Fence) -> Result<i64, Error> {
        self.drain(session)
            .map_err(|x| Error::Down(self.unreachable(&x)))?;
        self.seq += 1;
        let uid = format!("{session}/{}", self.seq);
        // A stale token is refused as such, before the rows are read (the
        // transaction below checks it again, atomically with the write).
        let holder =
            lease::holder(&self.table, &self.room, &f.service).map_err(|x| self.said(x))?;
        if holder.as_ref().map(|h| h.token) != Some(f.token) {
            return Err(Error::Fenced {
                service: f.service.clone(),
                token: f.token,
                now: match holder {
                    Some(h) => format!("{} drives it now (lease {})", h.operator, h.token),
                    None => "nobody holds it now".to_string(),
                },
            });
        }
        for _ in 0..100 {
            let (id, prev) = self.judged(&f.service, e)?;
            let r = Raw::of(id + 1, e, session, &self.room, &prev);
            let items = with_marker(&r, item(&r, Some(&uid), Some(f)));
            let marked = items.len() > 1;
            let lease = key(LEASES, lease::key_of_service(&self.room, &f.service));
            let token = f.token;
            let answer = self.table.call(move |c, t| async move {
                let check = ConditionCheck::builder()
                    .table_name(&t)
                    .set_key(Some(lease))
                    .condition_expression("#t = :t AND released = :f")
                    .expression_attribute_names("#t", "token")
                    .expression_attribute_values(":t", n(token))
                    .expression_attribute_values(":f", V::Bool(false))
                    .build()
                    .map_err(|e| Fault::Down(format!("cannot build a check: {e}")))?;
                let mut tx = c
                    .transact_write_items()
                    .transact_items(TransactWriteItem::builder().condition_check(check).build());
                for it in items {
                    let put = Put::builder()
                        .table_name(&t)
                        .set_item(Some(it))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(|e| Fault::Down(format!("cannot build a put: {e}")))?;
                    tx = tx.transact_items(TransactWriteItem::builder().put(put).build());
                }
                tx.send().await.map(|_| ()).map_err(|e| transact_fault(&e))
            });
            match answer {
                Ok(()) => {
                    self.last = Some((r.id, r.hash.unwrap_or_default()));
                    return Ok(r.id);
                }
                Err(Fault::Refused(why))
                    if why.first().map(String::as_str) == Some("ConditionalCheckFailed") =>
                {
                    let now = match lease::holder(&self.table, &self.room, &f.service) {
                        Ok(Some(h)) => format!("{} drives it now (lease {})", h.operator, h.token),
                        Ok(None) => "nobody holds it now".to_string(),
                        Err(e) => format!("who holds it cannot be read ({e})"),
                    };
                    return Err(Error::Fenced {
                        service: f.service.clone(),
                        token: f.token,
                        now,
                    });
                }
                Err(Fault::Refused(why))
                    if marked
                        && why.get(1).map(String::as_str) == Some("ConditionalCheckFailed") =>
                {
                    return Err(Error::Answered {
                        intent: e.reference.unwrap_or_default(),
                        by: "another backstop".into(),
                    });
                }
                Err(Fault::Refused(_)) => {
                    self.last = None;
                    // Its own first attempt, its answer lost, refuses a retry.
                    if self
                        .is_mine(r.id, &uid)
                        .map_err(|x| Error::Down(self.unreachable(&x)))?
                    {
                        return Ok(r.id);
                    }
                }
                Err(down) => {
                    // Written or not, nobody acts on it: an intent without
                    // an outcome is shown as interrupted if it is there.
                    self.last = None;
                    return Err(Error::Down(self.unreachable(&down)));
                }
            }
        }
        Err(Error::Down(
            "the table's newest row keeps moving: the intent was not written".into(),
        ))
    }

    fn since(&self, after: i64, limit: usize) -> Result<Vec<Row>, Error> {
        let rows = self
            .table
            .call(move |c, t| async move { rows_after(&c, &t, after, limit).await })
            .map_err(|f| Error::Down(format!("DynamoDB table {}: {f}", self.table.name)))?;
        Ok(rows.iter().map(Raw::row).collect())
    }

    fn head(&self) -> Result<i64, Error> {
        self.table
            .call(|c, t| async move { newest(&c, &t).await })
            .map(|r| r.map_or(0, |r| r.id))
            .map_err(|f| Error::Down(format!("DynamoDB table {}: {f}", self.table.name)))
    }

    fn pending(&self) -> usize {
        self.outbox.len()
    }

    fn flush(&mut self, session: &str) -> Result<(), Error> {
        if self.outbox.is_empty() && self.unsure_after.is_none() {
            return Ok(());
        }
        self.drain(session)
            .map(|_| ())
            .map_err(|f| Error::Down(self.unreachable(&f)))
    }

    fn holder(&self, service: &str) -> Result<Option<Holder>, Error> {
        lease::holder(&self.table, &self.room, service).map_err(|f| self.said(f))
    }

    fn take(
        &mut self,
        service: &str,
        session: &str,
        operator: &str,
        now_ms: i64,
        expiry: Duration,
        claim: Claim,
    ) -> Result<Taken, Error> {
        lease::take(
            &self.table,
            &self.room,
            service,
            session,
            operator,
            now_ms,
            expiry,
            claim,
        )
        .map_err(|f| self.said(f))
    }

    fn renew(&self, l: &Lease, now_ms: i64) -> Result<bool, Error> {
        lease::renew(&self.table, &self.room, l, now_ms).map_err(|f| self.said(f))
    }

    fn release(&self, l: &Lease) -> Result<(), Error> {
        lease::release(&self.table, &self.room, l).map_err(|f| self.said(f))
    }

    fn hand(
        &mut self,
        l: &Lease,
        to: &str,
        to_operator: &str,
        now_ms: i64,
    ) -> Result<Option<Lease>, Error> {
        lease::hand(&self.table, &self.room, l, to, to_operator, now_ms).map_err(|f| self.said(f))
    }

    fn leases(&self) -> Result<Vec<(String, Holder)>, Error> {
        lease::all(&self.table, &self.room).map_err(|f| self.said(f))
    }

    fn judged(&self, service: &str, expiry: Duration) -> bool {
        lease::watched_for(&self.table, &self.room, service) >= expiry
    }

    fn present(&self, p: &Present) -> Result<(), Error> {
        presence::put(&self.table, p).map_err(|f| self.said(f))
    }

    fn beat(&self, p: &Present, now_ms: i64) -> Result<(), Error> {
        presence::put(
            &self.table,
            &Present {
                last_seen_ms: now_ms,
                ..p.clone()
            },
        )
        .map_err(|f| self.said(f))
    }

    fn leave(&self, session: &str) -> Result<(), Error> {
        presence::remove(&self.table, session).map_err(|f| self.said(f))
    }

    fn people(&self) -> Result<Vec<Present>, Error> {
        presence::list(&self.table).map_err(|f| self.said(f))
    }

    fn vouch(&self, token: &str) -> Result<(), Error> {
        let Some(userid) = crate::identity::aws_userid() else {
            return Err(Error::Unusable(
                "AWS did not say who this console's principal is (GetCallerIdentity): an answer cannot be vouched for on the table".into(),
            ));
        };
        let mut m = key(&format!("{VOUCH}{userid}"), key_of(token));
        m.insert("token".into(), s(token));
        self.table
            .call(move |c, t| async move {
                c.put_item()
                    .table_name(&t)
                    .set_item(Some(m))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| fault("PutItem", &e))
            })
            .map_err(|f| self.said(f))
    }

    fn vouched(&self, token: &str, claimed: Option<&str>) -> Result<Option<String>, Error> {
        let Some(userid) = claimed.filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let k = key(&format!("{VOUCH}{userid}"), key_of(token));
        let token = token.to_string();
        let found = self
            .table
            .call(move |c, t| async move {
                c.get_item()
                    .table_name(&t)
                    .set_key(Some(k))
                    .consistent_read(true)
                    .send()
                    .await
                    .map(|o| o.item().and_then(|m| get_s(m, "token")))
                    .map_err(|e| fault("GetItem", &e))
            })
            .map_err(|f| self.said(f))?;
        Ok((found.as_deref() == Some(token.as_str())).then(|| format!("aws:{userid}")))
    }
}

impl Dynamo {
    /// A fault of the table's, saying which table.
    fn said(&self, f: Fault) -> Error {
        match f {
            Fault::Refused(why) => Error::Refused(why.join(", ")),
            Fault::Down(why) => Error::Down(format!("DynamoDB table {}: {why}", self.table.name)),
        }
    }
}

/// Bring this host's replica (`file`) up to the table: the rows it lacks,
/// copied as they are. The number of rows copied.
pub fn sync(table: &Arc<Table>, file: &Path) -> anyhow::Result<usize> {
    let conn = super::sqlite::connect(file)?;
    let mut head: i64 =
        conn.query_row("SELECT COALESCE(MAX(id), 0) FROM journal", [], |r| r.get(0))?;
    let mut copied = 0;
    loop {
        let after = head;
        let rows = table
            .call(move |c, t| async move { rows_after(&c, &t, after, 1000).await })
            .map_err(|f| anyhow::anyhow!("DynamoDB table {}: {f}", table.name))?;
        if rows.is_empty() {
            return Ok(copied);
        }
        copied += rows.len();
        head = super::sqlite::mirror(&conn, &rows)?;
        if head <= after {
            return Ok(copied);
        }
    }
}

/// Create the table (on-demand capacity; TTL on presence items), or find it
/// there; what was done, in words.
pub fn init(table: &Arc<Table>) -> Result<String, Fault> {
    table.call(|c, t| async move {
        let created = c
            .create_table()
            .table_name(&t)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| Fault::Down(e.to_string()))?,
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("sk")
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .map_err(|e| Fault::Down(e.to_string()))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(|e| Fault::Down(e.to_string()))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("sk")
                    .key_type(KeyType::Range)
                    .build()
                    .map_err(|e| Fault::Down(e.to_string()))?,
            )
            .send()
            .await;
        let mut said = match created {
            Ok(_) => format!("created the table {t} (on-demand capacity)"),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                format!("the table {t} is there already")
            }
            Err(e) => return Err(fault("CreateTable", &e)),
        };
        // Wait until it takes writes.
        for _ in 0..120 {
            let d = c
                .describe_table()
                .table_name(&t)
                .send()
                .await
                .map_err(|e| fault("DescribeTable", &e))?;
            let active = d
                .table()
                .and_then(|t| t.table_status())
                .is_some_and(|s| s.as_str() == "ACTIVE");
            if active {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let ttl = c
            .update_time_to_live()
            .table_name(&t)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .map_err(|e| Fault::Down(e.to_string()))?,
            )
            .send()
            .await;
        match ttl {
            Ok(_) => said.push_str(&format!("; presence items expire by `{TTL_ATTRIBUTE}`")),
            // Already on: DynamoDB refuses to turn it on twice.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.meta()
                        .message()
                        .is_some_and(|m| m.contains("already enabled"))
                }) =>
            {
                said.push_str(&format!("; presence items expire by `{TTL_ATTRIBUTE}`"));
            }
            Err(e) => return Err(fault("UpdateTimeToLive", &e)),
        }
        Ok(said)
    })
}

/// Move the history of a SQLite journal into an empty table (or finish a
/// copy that stopped): rows keep their ids, hashes and sessions, so the
/// chain verifies across the move. A table that holds other rows is
/// refused. (copied, already there).
pub fn copy(table: &Arc<Table>, from: &Path) -> anyhow::Result<(usize, usize)> {
    if !from.exists() {
        anyhow::bail!("no journal at {}", from.display());
    }
    let conn = super::sqlite::connect(from)?;
    let head = table
        .call(|c, t| async move { newest(&c, &t).await })
        .map_err(|f| anyhow::anyhow!("DynamoDB table {}: {f}", table.name))?;
    let there = head.as_ref().map_or(0, |r| r.id);
    // What the table holds must be the file's beginning, row for row.
    if let Some(h) = head {
        let mine = super::sqlite::raw_since(&conn, h.id - 1, 1)?;
        if mine.first().map(|r| &r.hash) != Some(&h.hash)
            || mine.first().map(|r| r.id) != Some(h.id)
        {
            anyhow::bail!(
                "the table {} holds rows that are not this journal's (its row {} differs): copy into an empty table",
                table.name,
                h.id
            );
        }
    }
    let mut after = there;
    let mut copied = 0;
    loop {
        let rows = super::sqlite::raw_since(&conn, after, BURST)?;
        let Some(last) = rows.last().map(|r| r.id) else {
            return Ok((copied, there as usize));
        };
        let items: Vec<_> = rows.iter().map(|r| item(r, None, None)).collect();
        table
            .call(move |c, t| async move { put_rows(&c, &t, items).await })
            .map_err(|f| {
                anyhow::anyhow!(
                    "DynamoDB table {}: {f} (run the copy again to go on)",
                    table.name
                )
            })?;
        copied += rows.len();
        after = last;
    }
}

/// `journal init --print`: the table as CloudFormation and as Terraform.
pub fn template(name: &str) -> String {
    format!(
        r#"# CloudFormation
Resources:
  BackstopJournal:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      TableName: {name}
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {{ AttributeName: pk, AttributeType: S }}
        - {{ AttributeName: sk, AttributeType: N }}
      KeySchema:
        - {{ AttributeName: pk, KeyType: HASH }}
        - {{ AttributeName: sk, KeyType: RANGE }}
      TimeToLiveSpecification: {{ AttributeName: {TTL_ATTRIBUTE}, Enabled: true }}
      PointInTimeRecoverySpecification: {{ PointInTimeRecoveryEnabled: true }}
      DeletionProtectionEnabled: true

# Terraform
resource "aws_dynamodb_table" "backstop_journal" {{
  name                        = "{name}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = true
  attribute {{
    name = "pk"
    type = "S"
  }}
  attribute {{
    name = "sk"
    type = "N"
  }}
  ttl {{
    attribute_name = "{TTL_ATTRIBUTE}"
    enabled        = true
  }}
  point_in_time_recovery {{
    enabled = true
  }}
}}
"#
    )
}
