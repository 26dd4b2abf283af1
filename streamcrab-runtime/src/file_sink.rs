//! An exactly-once file sink on the two-phase-commit protocol: each transaction writes a hidden
//! in-progress file, which is renamed to its final name when the checkpoint covering it
//! completes. Readers of the directory see a file only once it is committed, and see it whole.
//!
//! Files of subtask `s` are named `part-<s>-<n>` (committed) and `.part-<s>-<n>.inprogress`
//! (open or pre-committed). After a restore, in-progress files that no checkpoint refers to are
//! deleted, and numbering goes on after the highest committed file.

use std::fmt::Display;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::context::RuntimeContext;
use crate::error::UserResult;
use crate::two_phase::TwoPhaseCommitSink;

/// One transaction: an in-progress file and the name it is committed under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTransaction {
    in_progress: PathBuf,
    committed: PathBuf,
}

/// Writes every record's `Display` form on its own line, into files that appear exactly once.
pub struct ExactlyOnceFileSink<T> {
    dir: PathBuf,
    subtask: u32,
    next: u64,
    writer: Option<BufWriter<File>>,
    cleaned: bool,
    _type: PhantomData<fn(T)>,
}

impl<T> Clone for ExactlyOnceFileSink<T> {
    /// A clone is unopened: each subtask opens its own.
    fn clone(&self) -> Self {
        Self::new(&self.dir)
    }
}

impl<T> ExactlyOnceFileSink<T> {
    /// A sink writing into directory `dir` (created if missing).
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Self { dir: dir.as_ref().to_path_buf(), subtask: 0, next: 0, writer: None, cleaned: false, _type: PhantomData }
    }

    /// The lines of every committed file in `dir`, file by file in name order.
    pub fn read_committed(dir: impl AsRef<Path>) -> std::io::Result<Vec<String>> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("part-")))
            .collect();
        files.sort();
        let mut lines = Vec::new();
        for file in files {
            lines.extend(fs::read_to_string(file)?.lines().map(str::to_string));
        }
        Ok(lines)
    }

    fn prefix(&self) -> String {
        format!("part-{}-", self.subtask)
    }

    /// Deletes this subtask's in-progress files (called once the restored transactions are
    /// settled) and continues numbering after its highest committed file.
    fn clean_up(&mut self) -> UserResult {
        let prefix = self.prefix();
        for entry in fs::read_dir(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            if let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_prefix(&prefix))
                && rest.ends_with(".inprogress")
            {
                fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            } else if let Some(n) = name.strip_prefix(&prefix).and_then(|n| n.parse::<u64>().ok()) {
                self.next = self.next.max(n + 1);
            }
        }
        self.cleaned = true;
        Ok(())
    }
}

fn io_error(path: &Path, error: std::io::Error) -> crate::error::BoxError {
    format!("{}: {error}", path.display()).into()
}

impl<T: Display + 'static> TwoPhaseCommitSink<T> for ExactlyOnceFileSink<T> {
    type Transaction = FileTransaction;

    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.subtask = ctx.subtask_index();
        fs::create_dir_all(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        Ok(())
    }

    fn begin_transaction(&mut self) -> UserResult<FileTransaction> {
        if !self.cleaned {
            self.clean_up()?;
        }
        let n = self.next;
        self.next += 1;
        let transaction = FileTransaction {
            in_progress: self.dir.join(format!(".{}{n}.inprogress", self.prefix())),
            committed: self.dir.join(format!("{}{n}", self.prefix())),
        };
        let file = File::create(&transaction.in_progress).map_err(|e| io_error(&transaction.in_progress, e))?;
        self.writer = Some(BufWriter::new(file));
        Ok(transaction)
    }

    fn invoke(&mut self, transaction: &mut FileTransaction, value: T, _timestamp: Option<i64>) -> UserResult {
        let Some(writer) = self.writer.as_mut() else {
            return Err(format!("{}: written after its pre-commit", transaction.in_progress.display()).into());
        };
        writeln!(writer, "{value}").map_err(|e| io_error(&transaction.in_progress, e))
    }

    fn pre_commit(&mut self, transaction: &mut FileTransaction) -> UserResult {
        if let Some(writer) = self.writer.take() {
            let file = writer.into_inner().map_err(|e| io_error(&transaction.in_progress, e.into_error()))?;
            file.sync_all().map_err(|e| io_error(&transaction.in_progress, e))?;
        }
        Ok(())
    }

    fn commit(&mut self, transaction: FileTransaction) -> UserResult {
        match fs::rename(&transaction.in_progress, &transaction.committed) {
            Ok(()) => Ok(()),
            // Committed before (a restore re-commits): nothing to do.
            Err(_) if transaction.committed.exists() => Ok(()),
            Err(e) => Err(io_error(&transaction.in_progress, e)),
        }
    }

    fn abort(&mut self, transaction: FileTransaction) -> UserResult {
        self.writer = None;
        match fs::remove_file(&transaction.in_progress) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&transaction.in_progress, e)),
            _ => Ok(()),
        }
    }
}
