//! A child process for tests that run a real binary: killed (SIGKILL) and reaped when the test
//! ends, however it ends, and read line by line until it prints its banner (the line that says
//! it is ready, often with the address it bound).

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running child; see the module docs.
#[derive(Debug)]
pub struct Process {
    pub child: Child,
    /// Stdout lines, read on a thread of their own so that waiting can have a deadline.
    lines: Option<mpsc::Receiver<String>>,
}

impl Process {
    /// Spawns `command` with stdout piped (for [`Process::wait_for_line`]); panics if it cannot
    /// start.
    pub fn spawn(command: &mut Command) -> Process {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        Process {
            child,
            lines: Some(read_lines(stdout)),
        }
    }

    /// The first stdout line for which `banner` holds, waiting at most `limit`; the lines before
    /// it are skipped. Panics, naming the skipped lines, when the deadline passes or the process
    /// closes its stdout (exits) first.
    pub fn wait_for_line(&mut self, limit: Duration, banner: impl Fn(&str) -> bool) -> String {
        let lines = self.lines.as_ref().expect("stdout is read by this Process");
        let deadline = Instant::now() + limit;
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if banner(&line) => return line,
                Ok(line) => skipped.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("no banner line within {limit:?}; stdout so far: {skipped:#?}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!("stdout closed before the banner (exit {status:?}): {skipped:#?}")
                }
            }
        }
    }

    /// The stdout lines not yet read, as they come (ends when the process closes stdout).
    pub fn lines(&mut self) -> mpsc::Receiver<String> {
        self.lines.take().expect("stdout lines are taken once")
    }
}

/// Forwards each stdout line to the receiver until the stream ends.
fn read_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` to success and returns what it printed; panics with its stdout and stderr
/// otherwise.
pub fn run_ok(command: &mut Command) -> String {
    let out = command.output().expect("the command starts");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{command:?}: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Process {
        Process::spawn(Command::new("sh").args(["-c", script]))
    }

    #[test]
    fn the_banner_is_the_first_matching_line_and_later_lines_stay_readable() {
        let mut process =
            sh("echo starting; echo 'listening on 127.0.0.1:4000'; echo after; sleep 30");
        let banner = process.wait_for_line(Duration::from_secs(10), |l| l.starts_with("listening"));
        assert_eq!(banner, "listening on 127.0.0.1:4000");
        assert_eq!(
            process
                .lines()
                .recv_timeout(Duration::from_secs(10))
                .unwrap(),
            "after"
        );
    }

    #[test]
    fn dropping_kills_the_child() {
        let process = sh("sleep 30");
        let pid = process.child.id();
        drop(process);
        // Reaped by the drop: no such process any more.
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    #[should_panic(expected = "no banner line within")]
    fn a_missing_banner_fails_at_the_deadline() {
        sh("echo hello; sleep 30").wait_for_line(Duration::from_millis(200), |l| l == "ready");
    }

    #[test]
    #[should_panic(expected = "stdout closed before the banner")]
    fn an_exit_before_the_banner_fails_at_once() {
        sh("echo hello").wait_for_line(Duration::from_secs(30), |l| l == "ready");
    }
}
