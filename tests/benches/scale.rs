//! Many endpoints, side by side in one run: a private nginx on loopback
//! answers every health URL (its `stub_status` counts the checks done);
//! backstop probes 2,000 and then 10,000 endpoints every second with a
//! 500 ms timeout — headless (`watch`), the console in a 120×40 pty with
//! every endpoint answering, then the console with a tenth of the endpoints
//! hanging past their timeout, where a key's way to the next frame is timed; CPU and memory from the process's own
//! accounting (/proc); and a bash loop of curl over the same URLs as the
//! baseline.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::common::Home;
use super::common::pty::Pty;

/// Endpoints per environment: services have a blue and a green.
const PER_ENV: usize = 50;

struct Nginx {
    dir: tempfile::TempDir,
    port: u16,
}

impl Nginx {
    fn start() -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = super::common::refused_port();
        let d = dir.path();
        std::fs::create_dir_all(d.join("tmp")).unwrap();
        let conf = format!(
            "worker_processes 1;\npid {pid};\nuser root;\nworker_rlimit_nofile 65536;\n\
             events {{ worker_connections 30000; }}\nhttp {{\n  access_log off;\n  keepalive_requests 100000000;\n  \
             client_body_temp_path {t}/body; proxy_temp_path {t}/proxy; fastcgi_temp_path {t}/fcgi; uwsgi_temp_path {t}/uwsgi; scgi_temp_path {t}/scgi;\n  \
             server {{ listen 127.0.0.1:{port} backlog=4096;\n    location = /status {{ stub_status; }}\n    \
             location / {{ default_type application/json; return 200 '{{\"status\":\"UP\"}}'; }} }}\n}}\n",
            pid = d.join("nginx.pid").display(),
            t = d.join("tmp").display(),
        );
        std::fs::write(d.join("nginx.conf"), conf).unwrap();
        let out = std::process::Command::new("nginx")
            .args(["-c"])
            .arg(d.join("nginx.conf"))
            .arg("-p")
            .arg(d)
            .arg("-e")
            .arg(d.join("error.log"))
            .output()
            .expect("nginx (apt-get install nginx-light)");
        assert!(
            out.status.success(),
            "nginx: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Nginx { dir, port }
    }

    /// Requests nginx has answered so far (its own counter).
    fn requests(&self) -> u64 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(b"GET /status HTTP/1.0\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        // "server accepts handled requests\n 1 1 1"
        let line = body
            .lines()
            .skip_while(|l| !l.contains("accepts handled requests"))
            .nth(1)
            .unwrap();
        line.split_whitespace().nth(2).unwrap().parse().unwrap()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = std::process::Command::new("nginx")
            .args(["-c"])
            .arg(self.dir.path().join("nginx.conf"))
            .arg("-p")
            .arg(self.dir.path())
            .args(["-s", "stop"])
            .output();
    }
}

/// A port that accepts connections and never answers: endpoints that hang.
/// Dropped, it closes what it holds, so one phase's sockets do not weigh on
/// the next.
struct Hanging {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Hanging {
    fn start() -> Hanging {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in listener.incoming().flatten() {
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                // Probers give up after their timeout: only the newest matter.
                held.push(s);
                if held.len() > 4_000 {
                    held.drain(..2_000);
                }
            }
        });
        Hanging { port, stop }
    }
}

impl Drop for Hanging {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop, which sees the flag and lets go.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// `n` endpoints in services of two environments; every tenth endpoint on
/// the hanging port when `hang` is given.
fn config(home: &Home, n: usize, port: u16, hang: Option<u16>) -> Vec<String> {
    let dir = home.config_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let mut toml = String::from("title = \"scale\"\n");
    let mut urls = Vec::new();
    let mut k = 0;
    for s in 0..n / (2 * PER_ENV) {
        for env in ["blue", "green"] {
            toml.push_str(&format!(
                "[services.s{s}.environments.{env}]\nendpoints = [\n"
            ));
            for e in 0..PER_ENV {
                let p = match hang {
                    Some(h) if k % 10 == 9 => h,
                    _ => port,
                };
                let url = format!("http://127.0.0.1:{p}/s{s}/{env}/{e}/health");
                toml.push_str(&format!(
                    "  {{ url = \"{url}\", interval = \"1s\", timeout = \"500ms\" }},\n"
                ));
                if p == port {
                    urls.push(url);
                }
                k += 1;
            }
            toml.push_str("]\n");
        }
    }
    std::fs::write(dir.join("backstop.toml"), toml).unwrap();
    urls
}

/// CPU seconds (user + system) and RSS (KiB) of a process, from /proc.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0;
    let cpu = (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / tick;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (cpu, rss)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Checks a second and CPU over `secs`, after `warm` seconds.
/// Also the open files at the end (the sockets, mostly).
fn measure(nginx: &Nginx, pid: u32, warm: u64, secs: u64) -> (f64, f64, u64, u64, usize) {
    std::thread::sleep(Duration::from_secs(warm));
    let (c0, rss0) = usage(pid);
    let r0 = nginx.requests();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    // A figure from a process that ended (a watch that judged its
    // endpoints failing, say) would be no figure at all.
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("backstop ({pid}) ended during the measurement: {e}"))
        .count();
    let (c1, rss1) = usage(pid);
    let r1 = nginx.requests();
    let wall = t0.elapsed().as_secs_f64();
    ((r1 - r0) as f64 / wall, (c1 - c0) / wall, rss0, rss1, fds)
}

pub fn scale() {
    let warm: u64 = std::env::var("BENCH_WARM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let secs: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let nginx = Nginx::start();
    println!(
        "scale: every endpoint probed each second (timeout 500 ms), nginx on loopback answering"
    );
    for n in [2_000usize, 10_000] {
        // Headless.
        let home = Home::new();
        let urls = config(&home, n, nginx.port, None);
        let mut child = home
            .command()
            .args(["watch", "--json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (rate, cores, rss0, rss1, fds) = measure(&nginx, child.id(), warm, secs);
        let _ = child.kill();
        let _ = child.wait();
        println!(
            "  {n:>6} endpoints, headless watch: {rate:>7.0} checks/s, {cores:.3} core, {:>6.0} checks per CPU-second, RSS {} MB after {warm}s, {} MB after {}s, {fds} open files",
            rate / cores,
            rss0 / 1024,
            rss1 / 1024,
            warm + secs
        );
        // The console, every endpoint answering.
        let home = Home::new();
        config(&home, n, nginx.port, None);
        let mut pty = Pty::spawn(&home, &[], 120, 40, &[("NO_COLOR", "1")]);
        pty.wait_for("the console", Duration::from_secs(60), |s| {
            s.contains("scale")
        });
        let (rate, cores, rss0, rss1, fds) = measure(&nginx, pty.pid(), warm, secs);
        println!(
            "  {n:>6} endpoints, console 120×40, all answering: {rate:>7.0} checks/s, {cores:.3} core, {:>6.0} checks per CPU-second, RSS {} MB → {} MB, {fds} open files",
            rate / cores,
            rss0 / 1024,
            rss1 / 1024,
        );
        pty.send("q");
        pty.wait_exit(Duration::from_secs(20));
        // The console, a tenth of the endpoints hanging.
        let hang = Hanging::start();
        let home = Home::new();
        config(&home, n, nginx.port, Some(hang.port));
        let mut pty = Pty::spawn(&home, &[], 120, 40, &[("NO_COLOR", "1")]);
        pty.wait_for("the console", Duration::from_secs(60), |s| {
            s.contains("scale")
        });
        let pid = pty.pid();
        let (rate, cores, rss0, rss1, fds) = measure(&nginx, pid, warm, secs);
        // Keys: down and up the health table, every 150 ms; the time
        // until the first byte of the frame that answers.
        let mut lat = Vec::new();
        for i in 0..200 {
            let before = pty.bytes.load(std::sync::atomic::Ordering::SeqCst);
            let t0 = Instant::now();
            pty.send(if i % 2 == 0 { "j" } else { "k" });
            while pty.bytes.load(std::sync::atomic::Ordering::SeqCst) == before {
                if t0.elapsed() > Duration::from_secs(2) {
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            lat.push(t0.elapsed().as_secs_f64() * 1000.0);
            std::thread::sleep(Duration::from_millis(150));
        }
        lat.sort_by(f64::total_cmp);
        println!(
            "  {n:>6} endpoints, console 120×40, a tenth hanging: {rate:>7.0} answered checks/s, {cores:.3} core, RSS {} MB → {} MB, {fds} open files; key → frame p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} keys)",
            rss0 / 1024,
            rss1 / 1024,
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            lat.last().unwrap(),
            lat.len()
        );
        pty.send("q");
        pty.wait_exit(Duration::from_secs(20));
        drop(hang);
        // The baseline: a bash loop of curl over the same URLs, 10 s.
        if n == 2_000 {
            let list = home.path().join("urls");
            std::fs::write(&list, urls.join("\n")).unwrap();
            let r0 = nginx.requests();
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!(
                    "TIMEFORMAT='%U %S'; time (end=$((SECONDS+10)); while [ $SECONDS -lt $end ]; do while read -r u; do curl -s -o /dev/null --max-time 0.5 \"$u\"; [ $SECONDS -ge $end ] && break; done < {}; done)",
                    list.display()
                ))
                .output()
                .unwrap();
            let done = nginx.requests() - r0;
            let t = String::from_utf8_lossy(&out.stderr);
            let cpu: f64 = t
                .split_whitespace()
                .filter_map(|x| x.parse::<f64>().ok())
                .sum();
            println!(
                "  baseline, a bash loop of curl: {done} checks in 10 s, {cpu:.2} CPU-seconds, {:.0} checks per CPU-second",
                done as f64 / cpu
            );
        }
    }
}
