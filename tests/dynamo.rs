//! The journal's DynamoDB backend against moto's server, in process: one
//! order without gaps from many writers, a lost answer never written twice,
//! leases judged by their version on the waiter's clock, the fence, and a
//! SQLite journal's history copied across with its chain.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use backstop::config::Secret;
use backstop::config::aws::AwsSettings;
use backstop::core::time::Ts;
use backstop::room::dynamo::{self, Table};
use backstop::room::lease::{Claim, Leases, Taken};
use backstop::room::{Entry, Fence, Journal, Place, Reader, Redactor};
use common::moto::{Moto, REGION};
use common::proxy::{Mode, Proxy};

fn table(endpoint: &str, name: &str) -> Arc<Table> {
    Table::new(
        name,
        AwsSettings {
            region: Some(REGION.into()),
            profile: None,
            endpoint_url: Some(endpoint.into()),
            credentials: Some(("test".into(), Secret::new("test"))),
        },
    )
}

/// A fresh table on `moto`, and a place whose replica is in `dir`.
fn place(moto: &Moto, dir: &Path, name: &str) -> Place {
    let t = table(&moto.url(), name);
    dynamo::init(&t).unwrap();
    Place {
        file: dir.join(format!("{name}.sqlite")),
        table: Some(t),
        room: String::new(),
    }
}

fn entry(text: &str) -> Entry {
    Entry::new(backstop::clock::now(), "event", "web", text, "tester")
}

fn granted(t: Taken) -> backstop::room::lease::Lease {
    match t {
        Taken::Granted(l) => l,
        Taken::HeldBy(h) => panic!("held by {h:?}"),
    }
}

/// Four writers at once: every row is there once, the ids run 1..=100
/// without a gap, each writer's rows in its own order, and the hash chain
/// holds across them.
#[test]
fn many_writers_one_order_without_gaps_and_the_chain_holds() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let place = place(&moto, dir.path(), "journal-order");
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let place = place.clone();
            std::thread::spawn(move || {
                let j =
                    Journal::open_as(&place, Redactor::default(), &format!("writer-{w}")).unwrap();
                for i in 0..25 {
                    j.append_now(entry(&format!("w{w} row {i}"))).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let r = Reader::at(&place).unwrap();
    assert_eq!(r.count().unwrap(), 100);
    let v = r.verify().unwrap();
    assert!(v.holds(), "{}", v.text());
    let rows = r.between("web", Ts(0), Ts(i64::MAX)).unwrap();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, (1..=100).collect::<Vec<_>>());
    for w in 0..4 {
        let mine: Vec<String> = rows
            .iter()
            .filter(|r| r.session.as_deref() == Some(&format!("writer-{w}")))
            .map(|r| r.entry.text.clone())
            .collect();
        let expected: Vec<String> = (0..25).map(|i| format!("w{w} row {i}")).collect();
        assert_eq!(mine, expected);
    }
}

/// The table does the write and the answer is lost: the writer cannot know,
/// keeps the row, and when the table answers again finds it there rather
/// than writing it twice. Rows handed over meanwhile follow, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_was_lost_is_not_written_twice() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let direct = place(&moto, dir.path(), "journal-lost");
    let via = Place {
        file: dir.path().join("via.sqlite"),
        table: Some(table(&proxy.url(), "journal-lost")),
        room: String::new(),
    };
    let j = Journal::open_as(&via, Redactor::default(), "alice").unwrap();
    let jj = j.clone();
    tokio::task::spawn_blocking(move || jj.append_now(entry("before")).unwrap())
        .await
        .unwrap();
    proxy.set(Mode::LoseAnswers);
    let jj = j.clone();
    let lost = tokio::task::spawn_blocking(move || jj.append_now(entry("answer lost")))
        .await
        .unwrap();
    assert!(lost.is_err(), "the writer cannot know it was written");
    assert!(j.trouble().is_some(), "and says so");
    proxy.set(Mode::Down);
    j.append(entry("while down 1"));
    j.append(entry("while down 2"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.set(Mode::Pass);
    // The writer tries again by itself, every second.
    let start = std::time::Instant::now();
    while j.trouble().is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            j.trouble()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let texts: Vec<String> = {
        let d = direct.clone();
        tokio::task::spawn_blocking(move || {
            let r = Reader::at(&d).unwrap();
            assert!(r.verify().unwrap().holds());
            r.between("web", Ts(0), Ts(i64::MAX))
                .unwrap()
                .into_iter()
                .map(|r| r.entry.text)
                .collect()
        })
        .await
        .unwrap()
    };
    assert_eq!(
        texts,
        ["before", "answer lost", "while down 1", "while down 2"]
    );
}

/// Leases on a table: one holder, tokens that only grow, a heartbeat that
/// keeps it, a holder judged dead only after its version stood still for
/// the expiry on the waiter's own clock, a forced take-over, a handover
/// and a release; of ten asking at once, exactly one is granted.
#[test]
fn leases_on_a_table() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let place = place(&moto, dir.path(), "journal-leases");
    let expiry = Duration::from_millis(1500);
    let mut a = Leases::open(&place).unwrap();
    let mut b = Leases::open(&place).unwrap();
    // Clocks are not compared: the hosts' "now" may disagree wildly.
    let la = granted(
        a.take("web", "A", "alice", 1_000, expiry, Claim::TakeOver)
            .unwrap(),
    );
    assert_eq!(la.token, 1);
    assert!(matches!(
        b.take("web", "B", "bob", 999_999_999, expiry, Claim::TakeOver).unwrap(),
        Taken::HeldBy(h) if h.operator == "alice"
    ));
    // Alice heartbeats: however long bob waits, her lease moves.
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(500));
        assert!(a.renew(&la, 0).unwrap());
        assert!(matches!(
            b.take("web", "B", "bob", 0, expiry, Claim::TakeOver)
                .unwrap(),
            Taken::HeldBy(_)
        ));
    }
    // She stops: once her version stood still for the expiry on bob's
    // clock, he takes it, with the next token.
    std::thread::sleep(expiry + Duration::from_millis(200));
    let lb = granted(
        b.take("web", "B", "bob", 0, expiry, Claim::TakeOver)
            .unwrap(),
    );
    assert_eq!(lb.token, 2);
    assert_eq!(
        lb.took_over.as_ref().map(|h| h.operator.as_str()),
        Some("alice")
    );
    assert!(!a.renew(&la, 0).unwrap(), "alice has lost it");
    assert!(!a.current("web", la.token).unwrap());
    // A take-over a person confirmed does not wait.
    let la2 = granted(
        a.take("web", "A", "alice", 0, expiry, Claim::Force)
            .unwrap(),
    );
    assert_eq!(la2.token, 3);
    // Handed to bob: the next token is his, alice's is stale.
    let handed = a.hand(&la2, "B", "bob", 0).unwrap().unwrap();
    assert_eq!((handed.token, handed.session.as_str()), (4, "B"));
    assert!(
        a.hand(&la2, "B", "bob", 0).unwrap().is_none(),
        "not hers to give twice"
    );
    let lb2 = granted(
        b.take("web", "B", "bob", 0, expiry, Claim::TakeOver)
            .unwrap(),
    );
    assert_eq!(lb2.token, 4);
    // Released: free at once, and the next token is higher still.
    b.release(&lb2).unwrap();
    assert_eq!(b.holder("web").unwrap(), None);
    assert_eq!(
        granted(
            a.take("web", "A", "alice", 0, expiry, Claim::TakeOver)
                .unwrap()
        )
        .token,
        5
    );
    // Ten asking at once for another service: exactly one.
    let start = Arc::new(std::sync::Barrier::new(10));
    let answers: Vec<Taken> = (0..10)
        .map(|i| {
            let (place, start) = (place.clone(), start.clone());
            std::thread::spawn(move || {
                let mut l = Leases::open(&place).unwrap();
                start.wait();
                l.take("api", &format!("S{i}"), "ci", 0, expiry, Claim::TakeOver)
                    .unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let winners = answers
        .iter()
        .filter(|t| matches!(t, Taken::Granted(_)))
        .count();
    assert_eq!(winners, 1, "{answers:?}");
}

/// The fence on a table: an intent under a token that is no longer the
/// lease's is refused in the same transaction that would write it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_under_a_stale_token_is_refused_on_a_table() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let place = place(&moto, dir.path(), "journal-fence");
    let p = place.clone();
    let (la, lb) = tokio::task::spawn_blocking(move || {
        let mut a = Leases::open(&p).unwrap();
        let la = granted(
            a.take(
                "web",
                "A",
                "alice",
                0,
                Duration::from_secs(30),
                Claim::TakeOver,
            )
            .unwrap(),
        );
        let j = Journal::open_as(&p, Redactor::default(), "A").unwrap();
        (la, (a, j))
    })
    .await
    .unwrap();
    let (mut a, j) = lb;
    let fence = |token| {
        Some(Fence {
            service: "web".into(),
            token,
        })
    };
    let intent = || Entry::new(Ts(1), "intent", "web", "switch web", "alice");
    let first = j
        .append_fenced(intent(), fence(la.token))
        .await
        .expect("the holder writes its intent");
    let lb = tokio::task::spawn_blocking(move || {
        granted(
            a.take("web", "B", "bob", 0, Duration::from_secs(30), Claim::Force)
                .unwrap(),
        )
    })
    .await
    .unwrap();
    let refused = j
        .append_fenced(intent(), fence(la.token))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("bob drives it now"),
        "{refused}"
    );
    // The room takes no change of web while alice's has no outcome; bob
    // resolves it (once: an intent has one outcome), then acts.
    let open = j
        .append_fenced(intent(), fence(lb.token))
        .await
        .unwrap_err();
    assert!(matches!(open, backstop::room::Error::Guarded(_)), "{open}");
    let mut resolved = Entry::new(Ts(2), "outcome", "web", "resolved", "bob");
    resolved.reference = Some(first);
    j.append_fenced(resolved.clone(), fence(lb.token))
        .await
        .expect("the new driver resolves it");
    let twice = j
        .append_fenced(resolved, fence(lb.token))
        .await
        .unwrap_err();
    assert!(
        matches!(twice, backstop::room::Error::Answered { intent, .. } if intent == first),
        "{twice}"
    );
    j.append_fenced(intent(), fence(lb.token))
        .await
        .expect("the new holder's token writes");
    let p = place.clone();
    let intents = tokio::task::spawn_blocking(move || {
        Reader::at(&p).unwrap().of_kinds(&["intent"]).unwrap().len()
    })
    .await
    .unwrap();
    assert_eq!(intents, 2, "the stale intent was never written");
}

/// A SQLite journal's history moves into an empty table with its ids,
/// hashes and sessions: the chain verifies on the table; a copy that is
/// run again adds nothing; a table holding other rows is refused.
#[test]
fn a_sqlite_journal_is_copied_with_its_chain() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.sqlite");
    {
        let j = Journal::open_as(file.as_path(), Redactor::default(), "old-host").unwrap();
        for i in 0..60 {
            j.append_now(entry(&format!("old row {i}"))).unwrap();
        }
    }
    let place = place(&moto, dir.path(), "journal-copy");
    let table = place.table.clone().unwrap();
    assert_eq!(dynamo::copy(&table, &file).unwrap(), (60, 0));
    assert_eq!(
        dynamo::copy(&table, &file).unwrap(),
        (0, 60),
        "nothing twice"
    );
    let r = Reader::at(&place).unwrap();
    let v = r.verify().unwrap();
    assert!(v.holds() && v.rows == 60, "{}", v.text());
    let local = Reader::open(&file).unwrap().verify().unwrap();
    assert_eq!(v.head, local.head, "the same newest hash on both");
    // New rows chain on after the copied ones.
    Journal::open_as(&place, Redactor::default(), "new-host")
        .unwrap()
        .append_now(entry("new row"))
        .unwrap();
    assert!(Reader::at(&place).unwrap().verify().unwrap().holds());
    // Another journal cannot be poured into this table.
    let other = dir.path().join("other.sqlite");
    Journal::open_as(other.as_path(), Redactor::default(), "elsewhere")
        .unwrap()
        .append_now(entry("another history"))
        .unwrap();
    let e = dynamo::copy(&table, &other).unwrap_err().to_string();
    assert!(e.contains("not this journal's"), "{e}");
}

/// `journal init --print` gives the table to create by other means; with
/// no table configured, `journal init` says what to add, exit 2.
#[test]
fn journal_init_prints_the_table_or_says_what_is_missing() {
    let home = common::Home::new();
    let cfg = home.config_dir();
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("backstop.toml"),
        "[aws]\nregion = \"eu-west-1\"\n[journal]\nbackend = \"dynamodb\"\ntable = \"team-journal\"\n\
         [services.web.environments.prod]\nendpoints = [{ url = \"http://127.0.0.1:9/health\" }]\n",
    )
    .unwrap();
    let out = common::run({
        let mut c = home.command();
        c.args(["journal", "init", "--print"]);
        c
    });
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    for want in [
        "TableName: team-journal",
        "BillingMode: PAY_PER_REQUEST",
        "AttributeName: expires, Enabled: true",
        "name                        = \"team-journal\"",
        "hash_key                    = \"pk\"",
    ] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
    std::fs::write(
        cfg.join("backstop.toml"),
        "[services.web.environments.prod]\nendpoints = [{ url = \"http://127.0.0.1:9/health\" }]\n",
    )
    .unwrap();
    let out = common::run({
        let mut c = home.command();
        c.args(["journal", "init"]);
        c
    });
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("backend = \"dynamodb\""),
        "{}",
        common::stderr(&out)
    );
}

/// A report or a verification is never read from a replica that may be
/// behind: a table that does not answer (here: not created yet) is an
/// error that says what to do.
#[test]
fn a_report_of_a_table_that_does_not_answer_is_an_error() {
    let moto = Moto::start();
    let home = common::Home::new();
    let cfg = home.config_dir();
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("backstop.toml"),
        format!(
            "[aws]\nregion = \"{REGION}\"\nendpoint_url = \"{}\"\n[journal]\nbackend = \"dynamodb\"\n\
             table = \"never-made\"\n[services.web.environments.prod]\n\
             endpoints = [{{ url = \"http://127.0.0.1:9/health\" }}]\n",
            moto.url()
        ),
    )
    .unwrap();
    for args in [&["report", "--list"][..], &["journal", "verify"][..]] {
        let out = common::run({
            let mut c = home.command();
            c.args(args).envs(common::platform::AWS_ENV);
            c
        });
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(
            common::stderr(&out).contains("`backstop journal init` creates it"),
            "{args:?}: {}",
            common::stderr(&out)
        );
    }
}
