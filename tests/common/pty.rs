//! The real binary in a pseudo-terminal, its output fed to a terminal
//! emulator (vt100) so tests read the screen a user would see.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::Home;

pub struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    /// Bytes the program wrote to the terminal.
    pub bytes: Arc<AtomicU64>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

impl Pty {
    /// Start `backstop ARGS` in a `cols`×`rows` terminal, with `home`'s XDG dirs.
    pub fn spawn(
        home: &Home,
        args: &[&str],
        cols: u16,
        rows: u16,
        extra_env: &[(&str, &str)],
    ) -> Pty {
        Self::start(home, super::bin().as_os_str(), args, cols, rows, extra_env)
    }

    /// `backstop ARGS` run by Unix user `user` (through `runuser`, its
    /// environment kept: `home`'s directories, which that user must own).
    pub fn spawn_as(
        home: &Home,
        user: &str,
        args: &[&str],
        cols: u16,
        rows: u16,
        extra_env: &[(&str, &str)],
    ) -> Pty {
        let bin = super::bin().display().to_string();
        let mut all = vec!["-p", "-u", user, "--", bin.as_str()];
        all.extend(args);
        Self::start(
            home,
            std::ffi::OsStr::new("runuser"),
            &all,
            cols,
            rows,
            extra_env,
        )
    }

    /// Any program, for comparisons.
    pub fn spawn_program(home: &Home, program: &str, args: &[&str], cols: u16, rows: u16) -> Pty {
        Self::start(home, std::ffi::OsStr::new(program), args, cols, rows, &[])
    }

    fn start(
        home: &Home,
        program: &std::ffi::OsStr,
        args: &[&str],
        cols: u16,
        rows: u16,
        extra_env: &[(&str, &str)],
    ) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        for (k, v) in home.env_pairs() {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("BACKSTOP_CONFIG");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn backstop");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            NonZeroU16::new(rows).expect("rows"),
            NonZeroU16::new(cols).expect("cols"),
            0,
        )));
        let bytes = Arc::new(AtomicU64::new(0));
        let (p, b) = (parser.clone(), bytes.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                b.fetch_add(n as u64, Ordering::Relaxed);
                p.lock().expect("parser").process(&buf[..n]);
            }
        });
        Pty {
            parser,
            bytes,
            writer,
            child,
            _master: pair.master,
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().expect("parser").screen().contents()
    }

    /// The first screen line containing `needle`.
    pub fn line_with(&self, needle: &str) -> Option<String> {
        self.screen()
            .lines()
            .find(|l| l.contains(needle))
            .map(str::to_string)
    }

    pub fn alternate_screen(&self) -> bool {
        self.parser
            .lock()
            .expect("parser")
            .screen()
            .alternate_screen()
    }

    pub fn cursor_hidden(&self) -> bool {
        self.parser.lock().expect("parser").screen().hide_cursor()
    }

    /// Wait until `pred` holds for the screen; panic with the screen if it does not in time.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            if pred(&self.screen()) {
                return start.elapsed();
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// A one-key change and its confirmation as a person gives them: the
    /// key, a pause to read the question, then `y` (a `y` within a moment
    /// of its key is typing, and cancels the question).
    pub fn confirm(&mut self, key: &str) {
        self.send(key);
        std::thread::sleep(Duration::from_millis(500));
        self.send("y");
    }

    pub fn send(&mut self, keys: &str) {
        self.writer
            .write_all(keys.as_bytes())
            .expect("write to pty");
        self.writer.flush().expect("flush pty");
        if keys == "\x1b" {
            // A lone Esc is told apart from an escape sequence by a pause,
            // as when a person types it.
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Resize the terminal (the program gets SIGWINCH).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self._master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize");
        let (r, c) = (
            NonZeroU16::new(rows).expect("rows"),
            NonZeroU16::new(cols).expect("cols"),
        );
        self.parser
            .lock()
            .expect("parser")
            .screen_mut()
            .set_size(r, c);
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("pid")
    }

    pub fn signal(&self, name: &str) {
        let ok = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(ok.success());
    }

    /// Wait for the program to exit; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader thread take in the last bytes.
                std::thread::sleep(Duration::from_millis(100));
                return status.exit_code();
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "did not exit within {timeout:?}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
