//! The war room, measured with real consoles in pseudo-terminals on one
//! journal: how long a row one backstop writes takes to reach the others'
//! screens (2, 10 and 30 consoles), what an idle observer costs, and how
//! long after a driver dies the next one acts.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use backstop::core::time::Ts;
use backstop::room::{Entry, Journal, Redactor};

use super::common::Home;
use super::common::pty::Pty;

/// Blue answers healthy (a real server on loopback); green too, or — when
/// `failing` — refuses every connection, so a rollback is recommended
/// within seconds and a driver has something to drive, through a traffic
/// provider that is a real program keeping the weights in files. The
/// server lives as long as the runtime returned.
fn home_with_config(extra: &str, failing: bool) -> (Home, tokio::runtime::Runtime) {
    use super::common::{Reply, TestServer};
    use std::os::unix::fs::PermissionsExt;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ok = rt.block_on(TestServer::start(Reply::json(200, r#"{"status":"UP"}"#)));
    let blue = ok.url("/health");
    let green = if failing {
        format!("http://127.0.0.1:{}/health", super::common::refused_port())
    } else {
        ok.url("/health")
    };
    std::mem::forget(ok);
    let home = Home::new();
    let dir = home.config_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let platform = home.path().join("platform");
    std::fs::create_dir_all(&platform).unwrap();
    let ctl = platform.join("ctl");
    std::fs::write(&ctl, super::common::platform::CTL).unwrap();
    std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(platform.join("blue"), "0").unwrap();
    std::fs::write(platform.join("green"), "100").unwrap();
    let ctl = ctl.display();
    std::fs::write(
        dir.join("backstop.toml"),
        format!(
            "title = \"war room bench\"\n{extra}\n[services.web.environments.blue]\nendpoints = [{{ url = \"{blue}\", interval = \"1s\", timeout = \"500ms\" }}]\n[services.web.environments.green]\nendpoints = [{{ url = \"{green}\", interval = \"1s\", timeout = \"500ms\" }}]\n[services.web.traffic]\nprovider = \"command\"\nread = [\"{ctl}\", \"read\"]\nset = [\"{ctl}\", \"set\", \"{{env}}\", \"{{weight}}\"]\n"
        ),
    )
    .unwrap();
    (home, rt)
}

fn journal(home: &Home) -> std::path::PathBuf {
    home.path().join("data/backstop/journal.sqlite")
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// One console per person, all on `home`'s journal, each showing its events.
fn consoles(home: &Home, n: usize) -> Vec<Pty> {
    let v: Vec<Pty> = (0..n)
        .map(|i| {
            Pty::spawn(
                home,
                &[],
                100,
                30,
                &[("BACKSTOP_OPERATOR", &format!("p{i}")), ("NO_COLOR", "1")],
            )
        })
        .collect();
    for c in &v {
        c.wait_for("the console", Duration::from_secs(60), |s| {
            s.contains("war room bench")
        });
    }
    v
}

/// A step another backstop journals, as the tail shows it.
fn step_row(text: &str) -> Entry {
    let mut e = Entry::new(
        Ts(backstop::clock::now().millis()),
        "event",
        "web",
        text,
        "writer",
    );
    e.data = Some(serde_json::json!({ "kind": "step" }));
    e
}

pub fn propagation() {
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    println!(
        "war room: a row written by one backstop, until it is on every other console's screen"
    );
    println!("  consoles  samples    p50 ms    p99 ms    max ms");
    for n in [2usize, 10, 30] {
        let (home, _rt) = home_with_config("", false);
        let screens = consoles(&home, n);
        let writer =
            Journal::open_as(&journal(&home), Redactor::default(), "bench-writer#1-1").unwrap();
        let mut lat = Vec::new();
        for k in 0..samples {
            let text = format!("bench step {n}-{k} done");
            let t0 = Instant::now();
            writer.append_now(step_row(&text)).unwrap();
            let mut seen = vec![false; n];
            while seen.iter().any(|s| !s) {
                for (i, c) in screens.iter().enumerate() {
                    if !seen[i] && c.screen().contains(&text) {
                        seen[i] = true;
                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(30),
                    "row {k} never arrived"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            // Rows a second apart, as steps come.
            std::thread::sleep(Duration::from_millis(300));
        }
        lat.sort_by(f64::total_cmp);
        println!(
            "  {n:>8}  {:>7}  {:>8.0}  {:>8.0}  {:>8.0}",
            lat.len(),
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            lat.last().unwrap()
        );
        for mut c in screens {
            c.send("q");
            c.wait_exit(Duration::from_secs(10));
        }
    }
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

pub fn idle_observer() {
    let secs: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let (home, _rt) = home_with_config("", false);
    let mut v = consoles(&home, 2);
    // Past the first minute ages show minutes, as in any long watch.
    std::thread::sleep(Duration::from_secs(65));
    let observer = &v[1];
    let (c0, b0) = (
        cpu_seconds(observer.pid()),
        observer.bytes.load(Ordering::Relaxed),
    );
    std::thread::sleep(Duration::from_secs(secs));
    let (c1, b1) = (
        cpu_seconds(observer.pid()),
        observer.bytes.load(Ordering::Relaxed),
    );
    println!(
        "war room: an idle observer (another console on the journal, both environments healthy, nothing happening), {secs}s at 100x30:"
    );
    println!(
        "  CPU {:.2}% of one core ({:.2} s), {:.0} bytes/min to the terminal",
        (c1 - c0) * 100.0 / secs as f64,
        c1 - c0,
        (b1 - b0) as f64 * 60.0 / secs as f64
    );
    for c in &mut v {
        c.send("q");
        c.wait_exit(Duration::from_secs(10));
    }
}

/// The driver starts a rollback (it takes the lease), then dies; the
/// observer presses D until it may take over, types yes, and drives.
fn death(how: &str, extra: &str) -> f64 {
    let (home, _rt) = home_with_config(extra, true);
    let mut v = consoles(&home, 2);
    let (driver, observer) = v.split_at_mut(1);
    let (driver, observer) = (&mut driver[0], &mut observer[0]);
    driver.wait_for("the recommendation", Duration::from_secs(30), |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    driver.send("r");
    driver.wait_for("the checklist", Duration::from_secs(20), |s| {
        s.contains("Rollback web")
    });
    observer.wait_for("the driver named", Duration::from_secs(20), |s| {
        s.contains("p0 drives")
    });
    let t0 = Instant::now();
    driver.signal(how);
    'asking: loop {
        observer.send("D");
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(25));
            if observer.screen().contains("Type yes") {
                break 'asking;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(120));
    }
    observer.send("yes\r");
    observer.wait_for("the new driver", Duration::from_secs(20), |s| {
        s.contains("you drive web")
    });
    let took = t0.elapsed().as_secs_f64();
    if how == "STOP" {
        driver.signal("KILL");
    }
    observer.send("q");
    observer.wait_exit(Duration::from_secs(10));
    drop(v);
    took
}

pub fn driver_death() {
    println!(
        "war room: from the driver's death to the next driver holding the lease (the observer presses D until offered, then types yes at once)"
    );
    let mut killed: Vec<f64> = (0..5).map(|_| death("KILL", "")).collect();
    killed.sort_by(f64::total_cmp);
    println!(
        "  SIGKILL on this host (its process gone):      median {:.2} s, worst {:.2} s (5 runs)",
        pct(&killed, 0.5),
        killed.last().unwrap()
    );
    let mut stopped: Vec<f64> = (0..3)
        .map(|_| death("STOP", "lease_expiry = \"10s\""))
        .collect();
    stopped.sort_by(f64::total_cmp);
    println!(
        "  SIGSTOP (heartbeat gone), lease_expiry 10s:  median {:.2} s, worst {:.2} s (3 runs)",
        pct(&stopped, 0.5),
        stopped.last().unwrap()
    );
}
