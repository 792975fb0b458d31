//! The nginx traffic provider against a real nginx on loopback: weights are
//! set and read back, real requests follow them, and a failed `nginx -t` or
//! reload leaves the previous file and weights in place.
//! `scripts/test` installs nginx (Debian's nginx-light) when it is missing.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use backstop::config::NginxConfig;
use backstop::core::traffic::Weights;
use backstop::providers::LeaseCheck;
use backstop::providers::traffic::TrafficProvider;
use backstop::providers::traffic::nginx::Nginx;
use common::{Reply, TestServer};

/// An nginx master on a free port, proxying to an upstream file we control.
struct NginxUnderTest {
    dir: tempfile::TempDir,
    port: u16,
}

impl NginxUnderTest {
    fn conf(&self) -> PathBuf {
        self.dir.path().join("nginx.conf")
    }

    fn upstream(&self) -> PathBuf {
        self.dir.path().join("upstream.conf")
    }

    fn args(&self, action: &[&str]) -> Vec<String> {
        let d = self.dir.path();
        let mut v: Vec<String> = vec!["nginx".into()];
        v.extend(action.iter().map(|s| s.to_string()));
        v.extend([
            "-c".into(),
            self.conf().display().to_string(),
            "-p".into(),
            d.display().to_string(),
            "-e".into(),
            d.join("error.log").display().to_string(),
        ]);
        v
    }

    fn start(blue: &TestServer, green: &TestServer) -> Self {
        let nginx = std::process::Command::new("nginx").arg("-v").output();
        assert!(
            nginx.is_ok(),
            "nginx is not installed: run scripts/test (it installs Debian's nginx-light), or apt-get install nginx-light"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = common::refused_port();
        let d = dir.path();
        std::fs::create_dir_all(d.join("tmp")).unwrap();
        let conf = format!(
            "worker_processes 1;\npid {pid};\nuser root;\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  \
             client_body_temp_path {t}/body; proxy_temp_path {t}/proxy; fastcgi_temp_path {t}/fcgi; uwsgi_temp_path {t}/uwsgi; scgi_temp_path {t}/scgi;\n  \
             include {up};\n  server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://web_pool; }} }}\n}}\n",
            pid = d.join("nginx.pid").display(),
            t = d.join("tmp").display(),
            up = d.join("upstream.conf").display(),
        );
        std::fs::write(d.join("nginx.conf"), conf).unwrap();
        std::fs::write(
            d.join("upstream.conf"),
            format!(
                "# web blue/green\nupstream web_pool {{\n    server {} weight=9;\n    server {} weight=1;\n}}\n",
                blue.addr, green.addr
            ),
        )
        .unwrap();
        let n = NginxUnderTest { dir, port };
        let out = std::process::Command::new("nginx")
            .args(&n.args(&[])[1..])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "nginx did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        n
    }

    fn provider(&self, blue: &TestServer, green: &TestServer) -> Nginx {
        let cfg = NginxConfig {
            upstream_file: self.upstream(),
            upstream: "web_pool".into(),
            servers: vec![
                ("blue".into(), blue.addr.to_string()),
                ("green".into(), green.addr.to_string()),
            ],
            test: self.args(&["-t"]),
            reload: self.args(&["-s", "reload"]),
            timeout: Duration::from_secs(10),
        };
        Nginx::new(cfg, vec!["blue".into(), "green".into()])
    }

    /// Who answers `n` requests through nginx.
    async fn split(&self, n: usize) -> HashMap<String, usize> {
        // A new connection per request: a reload closes idle keep-alive
        // connections, and a reused one would fail for that reason alone.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let mut out = HashMap::new();
        for _ in 0..n {
            let body = client
                .get(format!("http://127.0.0.1:{}/", self.port))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            *out.entry(body).or_insert(0) += 1;
        }
        out
    }

    /// Wait until a reload has taken effect (old workers finish gracefully).
    async fn wait_for_split(&self, want_green: usize, of: usize) -> HashMap<String, usize> {
        let mut last = HashMap::new();
        for _ in 0..50 {
            last = self.split(of).await;
            if last.get("green").copied().unwrap_or(0) == want_green {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("nginx never routed {want_green}/{of} to green; last: {last:?}");
    }
}

impl Drop for NginxUnderTest {
    fn drop(&mut self) {
        let _ = std::process::Command::new("nginx")
            .args(&self.args(&["-s", "stop"])[1..])
            .output();
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn set_read_back_and_real_requests_follow() {
    let blue = TestServer::start(Reply::text(200, "text/plain", "blue")).await;
    let green = TestServer::start(Reply::text(200, "text/plain", "green")).await;
    let ngx = NginxUnderTest::start(&blue, &green);
    let p = ngx.provider(&blue, &green);

    let now = p.read().await.unwrap();
    assert_eq!(now.percents(), [90, 10]);
    // nginx's smooth round robin: exactly 1 in 10.
    ngx.wait_for_split(10, 100).await;

    let to = Weights::from_percents([("blue", 0), ("green", 100)]);
    let preview = p.preview(&now, &to).await.unwrap();
    assert!(
        preview
            .iter()
            .any(|l| l.contains(&format!("+ server {} down;", blue.addr))),
        "{preview:#?}"
    );
    assert!(
        preview
            .iter()
            .any(|l| l.contains(&format!("+ server {} weight=100;", green.addr))),
        "{preview:#?}"
    );
    // The preview changed nothing.
    assert_eq!(p.read().await.unwrap().percents(), [90, 10]);

    let applied = p.set(&now, &to, &LeaseCheck::none()).await.unwrap();
    assert_eq!(applied.weights.percents(), [0, 100]);
    assert!(
        applied
            .log
            .iter()
            .any(|l| l.ends_with("-t …`: ok") || l.contains("-t -c")),
        "{:#?}",
        applied.log
    );
    assert!(
        read(&ngx.upstream()).contains("# web blue/green"),
        "the rest of the file is kept"
    );
    ngx.wait_for_split(50, 50).await;

    // And back to a canary.
    let canary = Weights::from_percents([("blue", 75), ("green", 25)]);
    p.set(&to, &canary, &LeaseCheck::none()).await.unwrap();
    ngx.wait_for_split(25, 100).await;
    // A stale `from` (someone changed it since the preview) changes nothing.
    let e = p.set(&now, &to, &LeaseCheck::none()).await.unwrap_err();
    assert!(
        e.message.contains("moved since the preview"),
        "{}",
        e.message
    );
    assert_eq!(p.read().await.unwrap().percents(), [75, 25]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_check_or_reload_restores_the_previous_file() {
    let blue = TestServer::start(Reply::text(200, "text/plain", "blue")).await;
    let green = TestServer::start(Reply::text(200, "text/plain", "green")).await;
    let ngx = NginxUnderTest::start(&blue, &green);
    let p = ngx.provider(&blue, &green);
    let before = read(&ngx.upstream());
    let from = p.read().await.unwrap();
    let to = Weights::from_percents([("blue", 0), ("green", 100)]);

    // Someone left the main configuration broken: `nginx -t` fails.
    let good_conf = read(&ngx.conf());
    std::fs::write(ngx.conf(), format!("{good_conf}\nthis is not nginx;\n")).unwrap();
    let e = p.set(&from, &to, &LeaseCheck::none()).await.unwrap_err();
    assert!(e.message.contains("failed"), "{}", e.message);
    assert!(
        e.message
            .contains("the previous file was restored and nginx was not reloaded"),
        "{}",
        e.message
    );
    assert!(
        e.log.iter().any(|l| l.contains("this")),
        "nginx's own words are kept: {:#?}",
        e.log
    );
    assert_eq!(read(&ngx.upstream()), before, "byte for byte");
    std::fs::write(ngx.conf(), &good_conf).unwrap();
    assert_eq!(p.read().await.unwrap().percents(), [90, 10]);
    ngx.wait_for_split(10, 100).await;

    // The check passes but the reload fails (a wrong pid file): restored too.
    let mut cfg_reload = ngx.args(&["-s", "reload"]);
    cfg_reload.extend(["-g".into(), "pid /nonexistent/nginx.pid;".into()]);
    let broken = Nginx::new(
        NginxConfig {
            upstream_file: ngx.upstream(),
            upstream: "web_pool".into(),
            servers: vec![
                ("blue".into(), blue.addr.to_string()),
                ("green".into(), green.addr.to_string()),
            ],
            test: ngx.args(&["-t"]),
            reload: cfg_reload,
            timeout: Duration::from_secs(10),
        },
        vec!["blue".into(), "green".into()],
    );
    let e = broken
        .set(&from, &to, &LeaseCheck::none())
        .await
        .unwrap_err();
    assert!(
        e.message.contains("reload") && e.message.contains("the previous file was restored"),
        "{}",
        e.message
    );
    assert_eq!(read(&ngx.upstream()), before);
    ngx.wait_for_split(10, 100).await;

    // A missing file is an error in words, not a crash.
    std::fs::remove_file(ngx.upstream()).unwrap();
    let e = p.read().await.unwrap_err();
    assert!(
        e.message
            .starts_with(&format!("cannot read {}", ngx.upstream().display())),
        "{}",
        e.message
    );
    std::fs::write(ngx.upstream(), &before).unwrap();
}
