//! moto's server, a real AWS API emulator, on a loopback port: started per
//! test, seeded with the AWS SDK itself (and EC2's query API for the VPC
//! an ALB needs), stopped and started again for outage tests.
//!
//! `scripts/test` installs it into `target/moto-venv` and says where with
//! `$BACKSTOP_MOTO_SERVER`.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

pub const REGION: &str = "eu-west-1";

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BACKSTOP_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv/bin/moto_server");
    if local.exists() {
        return local;
    }
    panic!(
        "moto_server (the AWS API emulator these tests need) was not found: run scripts/test, \
         which installs it into target/moto-venv, or set $BACKSTOP_MOTO_SERVER"
    );
}

pub struct Moto {
    pub port: u16,
    child: Option<Child>,
    /// Where its request log goes, when it is kept (benchmarks count calls).
    log: Option<PathBuf>,
    /// moto's own recording of every request, so a restart can replay its
    /// way back to the state it had (moto keeps nothing across restarts).
    recording: Option<tempfile::NamedTempFile>,
    /// The next start replays the recording before it listens.
    replay_first: bool,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::on_a_free_port(None)
    }

    /// Recording every request, so that `restart_keeping` can bring its
    /// state back after a restart.
    pub fn start_recorded() -> Moto {
        Moto::on_a_free_port(Some(tempfile::NamedTempFile::new().unwrap()))
    }

    fn on_a_free_port(recording: Option<tempfile::NamedTempFile>) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut m = Moto {
            port,
            child: None,
            log: None,
            recording,
            replay_first: false,
        };
        m.spawn();
        m
    }

    /// Stopped, and back on the same port with the state it had: the
    /// recorded requests replayed (by moto's recorder) before anything
    /// else reaches it.
    pub fn restart_keeping(&mut self) {
        self.stop();
        // The recording is replayed inside the new server before it
        // listens: a client that calls during the replay would otherwise
        // meet half a table (and write where a replayed row then cannot),
        // which no restart of DynamoDB shows.
        self.replay_first = true;
        self.spawn();
        self.replay_first = false;
    }

    /// With its request log (one line per API call) kept in `log`.
    pub fn start_logged(log: PathBuf) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut m = Moto {
            port,
            child: None,
            log: Some(log),
            recording: None,
            replay_first: false,
        };
        m.spawn();
        m
    }

    /// API calls received so far (logged mode).
    pub fn calls(&self) -> usize {
        self.log
            .as_ref()
            .and_then(|l| std::fs::read_to_string(l).ok())
            .map_or(0, |t| t.lines().filter(|l| l.contains("\"POST ")).count())
    }

    fn spawn(&mut self) {
        // moto's own server, one request at a time: its DynamoDB checks a
        // condition and writes without a lock, so two writers at once
        // could both win where DynamoDB lets exactly one (a table's chain
        // would then break on the emulator alone). Connections stay
        // threaded; requests take turns, as DynamoDB's writes to one item do.
        let mut cmd = Command::new(binary().with_file_name("python"));
        cmd.args(["-c", SERIALIZED]);
        if let Some(r) = &self.recording {
            cmd.env("MOTO_ENABLE_RECORDING", "true")
                .env("MOTO_RECORDER_FILEPATH", r.path());
            if self.replay_first {
                cmd.env("BACKSTOP_MOTO_REPLAY_FIRST", "1");
            }
        }
        let child = cmd
            .args(["127.0.0.1", &self.port.to_string()])
            // ECS reports a rollout COMPLETED once this many tasks run.
            .env("MOTO_ECS_SERVICE_RUNNING", "2")
            .stdout(Stdio::null())
            .stderr(match &self.log {
                Some(l) => Stdio::from(std::fs::File::create(l).unwrap()),
                None => Stdio::null(),
            })
            .spawn()
            .expect("start moto_server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        // A connection to a port nobody listens on yet can meet itself: the
        // kernel may pick that very port as its source, and the handshake
        // then succeeds (a TCP self-connect). Only moto's answer counts.
        let listening = |port: u16| {
            TcpStream::connect(("127.0.0.1", port))
                .is_ok_and(|s| s.local_addr().ok() != s.peer_addr().ok())
        };
        while !listening(self.port) {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Gone, as an endpoint that stops answering: connections are refused.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Back on the same port, empty (moto keeps nothing across restarts).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// An SDK setup pointed at it, with dummy credentials.
    pub async fn sdk(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(self.url())
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await
    }

    /// EC2's query API, for what an ALB needs (a VPC and two subnets).
    pub async fn ec2(&self, params: &[(&str, &str)]) -> String {
        let body: Vec<String> = params
            .iter()
            .chain([("Version", "2016-11-15")].iter())
            .map(|(k, v)| format!("{k}={}", v.replace('/', "%2F")))
            .collect();
        reqwest::Client::new()
            .post(format!("{}/", self.url()))
            .header(
                "Authorization",
                format!("AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0"),
            )
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The text between `<tag>` and `</tag>`, first occurrence.
pub fn xml(body: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = body
        .find(&open)
        .map(|i| i + open.len())
        .unwrap_or_else(|| panic!("no <{tag}> in {body}"));
    let end = body[start..].find(&format!("</{tag}>")).unwrap() + start;
    body[start..end].to_string()
}

/// moto's server (as `moto_server` starts it) with its requests taking turns.
const SERIALIZED: &str = r#"
import os, sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication, MotoRequestHandler, create_backend_app,
)
host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
app.debug = True
if os.environ.get("BACKSTOP_MOTO_REPLAY_FIRST"):
    # The recording, replayed into the app itself before the port is
    # bound (not recorded again): no client sees the state half restored.
    import base64, json
    from werkzeug.test import Client
    from moto.moto_api import recorder
    recorder.stop_recording()
    client = Client(app)
    with open(os.environ["MOTO_RECORDER_FILEPATH"]) as f:
        for line in f:
            row = json.loads(line)
            body = row.get("body", "{}")
            if row.get("body_encoded"):
                body = base64.b64decode(body)
            headers = {k: v for k, v in row.get("headers", {}).items()
                       if k.lower() not in ("transfer-encoding", "content-length")}
            client.open(row["url"], method=row["method"], headers=headers, data=body)
    recorder.start_recording()
turn = threading.Lock()
def one_at_a_time(environ, start_response):
    # moto's own API (a recording replayed) calls this server back: not
    # under the turn it would wait for.
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return app(environ, start_response)
    with turn:
        return list(app(environ, start_response))
run_simple(host, port, one_at_a_time, threaded=True, use_reloader=False,
           request_handler=MotoRequestHandler)
"#;
