//! A small tmpfs that a test mounts for itself, so that a full disk is a real `ENOSPC` from the
//! kernel and not a mock. Mounting needs root (CI runs as root); where it is refused the test
//! prints why and skips, unless `DSS_LAKE_TEST_REQUIRE_MOUNT` is set, which makes it fail.
//! Shared by the lake, import and ingest tests.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs; unmounted on drop, so a failing test leaves no mount behind.
#[derive(Debug)]
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (like `4m`) on a fresh folder; `None` (said on stderr) when
    /// this machine does not allow it.
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let why = match mounted {
            Ok(out) if out.status.success() => return Some(Tmpfs { dir }),
            Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            Err(e) => format!("running mount: {e}"),
        };
        let message = format!(
            "SKIPPED: this test needs a tmpfs it mounts itself (as root), and mounting failed: {why}"
        );
        if std::env::var_os("DSS_LAKE_TEST_REQUIRE_MOUNT").is_some() {
            panic!("{message}");
        }
        eprintln!("{message}");
        None
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the file system is full; returns its path.
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = fs::File::create(&path).unwrap();
        let chunk = vec![0x5a; 64 << 10];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(ENOSPC) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        path
    }

    /// Shrinks the filler so that about `bytes` are free again.
    pub fn leave_free(&self, filler: &Path, bytes: u64) {
        let file = fs::OpenOptions::new().write(true).open(filler).unwrap();
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(bytes)).unwrap();
    }
}

/// "No space left on device" on Linux; not worth a libc dependency for one constant.
const ENOSPC: i32 = 28;

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a file a failed test left open must not keep the mount alive.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
