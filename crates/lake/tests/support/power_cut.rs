//! A [`LakeFs`] over the real local file system that records every call a commit makes, can
//! fail any one of them, and can cut the power: undo whatever the calls so far had not made
//! durable, the way a crash may.
//!
//! The model is the one POSIX allows and ext4 shows (without `auto_da_alloc` luck): a file's
//! bytes survive only once the file is synced, and a creation, rename or removal inside a
//! folder survives only once that folder is synced. A power cut truncates every unsynced file to
//! nothing, wherever it now lives, and undoes every unsynced change to a folder, newest first.
//! A lake whose commit point can move before its data is durable loses events under it.
//!
//! Syncs are recorded, not made: the model decides what a power cut keeps, and real fsyncs
//! would only make every scenario of the durability tests slower.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use dss_lake_lake::fs::{LakeFile, LakeFs, LocalFs};

/// One recorded call. `Write` is a file's first write: the later ones are the same step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    CreateDir,
    CreateFile,
    Write,
    SyncFile,
    Rename,
    Link,
    SyncDir,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) call: Call,
    pub(crate) path: PathBuf,
    /// A rename's or a link's target.
    pub(crate) to: Option<PathBuf>,
}

/// What the file system does at a given step number (counted from 0 over the fs's life).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    /// That one call fails (and changes nothing); the rest work.
    FailOnce(usize),
    /// That call and every later one fail: the process is as good as dead from there on, and
    /// [`PowerCutFs::power_cut`] then decides what the disk kept.
    CrashAt(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct PowerCutFs {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    steps: Vec<Step>,
    fault: Fault,
    dead: bool,
    /// Folder changes not yet durable, oldest first, each with the folders still to be synced.
    unsynced_changes: Vec<(Vec<PathBuf>, Undo)>,
    /// Files whose bytes are not yet durable, by id, at their current path.
    unsynced_files: HashMap<u64, PathBuf>,
    next_file: u64,
}

#[derive(Debug)]
enum Undo {
    RemoveDir(PathBuf),
    RemoveFile(PathBuf),
    /// Rename back; put the replaced file's bytes back at `to` if there was one.
    RenameBack {
        from: PathBuf,
        to: PathBuf,
        replaced: Option<Vec<u8>>,
    },
    Restore(PathBuf, Vec<u8>),
}

fn dead() -> io::Error {
    io::Error::other("simulated crash: the process is gone")
}

fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

impl PowerCutFs {
    pub(crate) fn new(fault: Fault) -> Self {
        PowerCutFs {
            state: Arc::new(Mutex::new(State {
                steps: Vec::new(),
                fault,
                dead: false,
                unsynced_changes: Vec::new(),
                unsynced_files: HashMap::new(),
                next_file: 0,
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every call so far, failed ones included.
    pub(crate) fn steps(&self) -> Vec<Step> {
        self.state().steps.clone()
    }

    /// Whether the crash point was reached.
    pub(crate) fn crashed(&self) -> bool {
        self.state().dead
    }

    /// Undoes what was not durable, newest change first, then empties every unsynced file.
    pub(crate) fn power_cut(&self) {
        let mut state = self.state();
        state.dead = true;
        while let Some((_, undo)) = state.unsynced_changes.pop() {
            match undo {
                Undo::RemoveDir(dir) => {
                    let _ = fs::remove_dir_all(dir);
                }
                Undo::RemoveFile(path) => {
                    let _ = fs::remove_file(path);
                }
                Undo::RenameBack { from, to, replaced } => {
                    if fs::rename(&to, &from).is_ok() {
                        state.moved(&to, &from);
                    }
                    if let Some(bytes) = replaced {
                        fs::write(&to, bytes).expect("restoring a replaced file");
                    }
                }
                Undo::Restore(path, bytes) => fs::write(path, bytes).expect("restoring a file"),
            }
        }
        for path in std::mem::take(&mut state.unsynced_files).into_values() {
            if let Ok(file) = File::options().write(true).open(path) {
                file.set_len(0).expect("emptying an unsynced file");
            }
        }
    }

    /// Records a call and says whether it may go ahead.
    fn step(
        &self,
        call: Call,
        path: &Path,
        to: Option<&Path>,
    ) -> io::Result<MutexGuard<'_, State>> {
        let mut state = self.state();
        let number = state.steps.len();
        state.steps.push(Step {
            call,
            path: path.to_path_buf(),
            to: to.map(Path::to_path_buf),
        });
        match state.fault {
            _ if state.dead => return Err(dead()),
            Fault::FailOnce(n) if n == number => {
                return Err(io::Error::other(format!(
                    "simulated failure of step {number}"
                )));
            }
            Fault::CrashAt(n) if n <= number => {
                state.dead = true;
                return Err(dead());
            }
            _ => {}
        }
        Ok(state)
    }
}

impl State {
    fn changed(&mut self, dirs: Vec<PathBuf>, undo: Undo) {
        self.unsynced_changes.push((dirs, undo));
    }

    fn moved(&mut self, from: &Path, to: &Path) {
        for path in self.unsynced_files.values_mut() {
            if path == from {
                *path = to.to_path_buf();
            }
        }
    }
}

impl LakeFs for PowerCutFs {
    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.step(Call::CreateDir, dir, None)?;
        LocalFs.create_dir(dir)?;
        state.changed(vec![parent(dir)], Undo::RemoveDir(dir.to_path_buf()));
        Ok(())
    }

    fn create_file(&self, path: &Path) -> io::Result<Box<dyn LakeFile>> {
        let mut state = self.step(Call::CreateFile, path, None)?;
        let existed = path.exists();
        let file = File::create(path)?;
        if !existed {
            state.changed(vec![parent(path)], Undo::RemoveFile(path.to_path_buf()));
        }
        let id = state.next_file;
        state.next_file += 1;
        state.unsynced_files.insert(id, path.to_path_buf());
        Ok(Box::new(RecordedFile {
            fs: self.clone(),
            file,
            id,
            path: path.to_path_buf(),
            written: false,
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.step(Call::Rename, from, Some(to))?;
        let replaced = fs::read(to).ok();
        LocalFs.rename(from, to)?;
        state.moved(from, to);
        let undo = Undo::RenameBack {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            replaced,
        };
        state.changed(vec![parent(from), parent(to)], undo);
        Ok(())
    }

    fn link_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.step(Call::Link, from, Some(to))?;
        LocalFs.link_new(from, to)?;
        // The new name shares the bytes: unsynced under one name, unsynced under both.
        if state.unsynced_files.values().any(|p| p == from) {
            let id = state.next_file;
            state.next_file += 1;
            state.unsynced_files.insert(id, to.to_path_buf());
        }
        state.changed(vec![parent(to)], Undo::RemoveFile(to.to_path_buf()));
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.step(Call::SyncDir, dir, None)?;
        for (dirs, _) in &mut state.unsynced_changes {
            dirs.retain(|d| d != dir);
        }
        state.unsynced_changes.retain(|(dirs, _)| !dirs.is_empty());
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut state = self.step(Call::Remove, path, None)?;
        let bytes = fs::read(path)?;
        LocalFs.remove_file(path)?;
        state.changed(vec![parent(path)], Undo::Restore(path.to_path_buf(), bytes));
        Ok(())
    }
}

/// A file whose first write and whose sync are steps of their own.
struct RecordedFile {
    fs: PowerCutFs,
    file: File,
    id: u64,
    path: PathBuf,
    written: bool,
}

impl Write for RecordedFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if !self.written {
            drop(self.fs.step(Call::Write, &self.path, None)?);
            self.written = true;
        } else if self.fs.crashed() {
            return Err(dead());
        }
        self.file.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl LakeFile for RecordedFile {
    fn sync(&mut self) -> io::Result<()> {
        let mut state = self.fs.step(Call::SyncFile, &self.path, None)?;
        state.unsynced_files.remove(&self.id);
        Ok(())
    }
}
