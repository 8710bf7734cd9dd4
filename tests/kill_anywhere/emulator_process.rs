//! The soak's own emulator: `tests/emulator/moto_server.py` in quota mode with the strictest
//! counting (a sliding one-second window), keeping its state in a file so that it can be
//! restarted mid-wave on the same port with every key and queue where they were (see
//! `tests/emulator/emulator.sh`, whose `emulator_restart` does the same for a shell).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the emulator may take to answer after a start.
const START: Duration = Duration::from_secs(30);

/// An emulator process, stopped when dropped.
pub struct EmulatorProcess {
    child: Option<Child>,
    port: u16,
    state: PathBuf,
    log: PathBuf,
}

impl EmulatorProcess {
    /// Starts an empty emulator on a free loopback port, keeping its files in `dir`.
    pub fn start(dir: &Path) -> Self {
        let state = dir.join("emulator.state");
        let _ = std::fs::remove_file(&state);
        let mut emulator = Self {
            child: None,
            port: crate::common::free_port(),
            state,
            log: dir.join("emulator.log"),
        };
        emulator.launch();
        emulator
    }

    /// Where the SDK reaches it.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops it as SIGTERM does, saving its state, and starts it again on the same port.
    pub fn restart(&mut self) {
        let mut child = self.child.take().expect("the emulator runs");
        signal(child.id(), "-TERM");
        let status = child.wait().expect("the emulator exits");
        assert!(
            status.success(),
            "the emulator did not save its state ({status}); see {}",
            self.log.display()
        );
        self.launch();
    }

    fn launch(&mut self) {
        let python = std::env::var("SECUREQUEUE_TEST_PYTHON")
            .expect("SECUREQUEUE_TEST_PYTHON is not set: run the tests with tests/run.sh");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("the emulator's log opens");
        let child = Command::new(python)
            .arg(crate::common::repo_path("tests/emulator/moto_server.py"))
            .arg(self.port.to_string())
            .env("SECUREQUEUE_EMULATOR_ACCOUNT_ID", crate::common::ACCOUNT)
            .env("SECUREQUEUE_EMULATOR_QUOTAS", "aws")
            .env("SECUREQUEUE_EMULATOR_QUOTA_COUNTING", "sliding")
            .env("SECUREQUEUE_EMULATOR_STATE", &self.state)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the emulator starts");
        self.child = Some(child);
        self.wait_until_it_answers();
    }

    fn wait_until_it_answers(&self) {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < START,
                "the emulator did not answer in {START:?}; see {}",
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends `signal` (`-TERM`, `-KILL`) to the process `pid`.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}
