//! A connection driven from a thread of its own, for a synchronous client that cannot run on
//! a thread inside an async runtime (the `postgres` crate's client blocks on a tokio runtime of
//! its own, which panics inside `#[tokio::main]`).

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Connection, DbError};
use crate::config::{DatabaseUrl, Dialect};
use crate::error::{Error, Result};

/// Work for the connection's thread.
type Job = Box<dyn FnOnce(&mut dyn Connection) + Send>;

/// A connection opened, used and closed on its own thread; each call waits for its answer.
pub(super) struct OwnThread {
    dialect: Dialect,
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<JoinHandle<()>>,
}

impl OwnThread {
    /// Opens the connection with `open` on a new thread, which keeps it until dropped.
    pub(super) fn open(
        url: &DatabaseUrl,
        open: impl FnOnce() -> Result<Box<dyn Connection + Send>> + Send + 'static,
    ) -> Result<OwnThread> {
        let dialect = url.dialect();
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (opened, opening) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name(format!("retort-{dialect}"))
            .spawn(move || {
                let mut conn = match open() {
                    Ok(conn) => {
                        let _ = opened.send(Ok(()));
                        conn
                    }
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                };
                for job in inbox {
                    job(conn.as_mut());
                }
            })
            .map_err(|e| Error::ConnectFailed {
                url: url.to_string(),
                cause: DbError::new(format!("cannot start the connection's thread: {e}")),
            })?;
        let opened = opening.recv().unwrap_or_else(|_| {
            Err(Error::ConnectFailed {
                url: url.to_string(),
                cause: DbError::new(stopped_message(dialect)),
            })
        });
        opened?;
        Ok(OwnThread {
            dialect,
            jobs: Some(jobs),
            worker: Some(worker),
        })
    }

    /// Runs `job` on the connection's thread and waits for its result; `None` when the thread
    /// is gone (it panicked).
    fn call<R: Send + 'static>(
        &mut self,
        job: impl FnOnce(&mut dyn Connection) -> R + Send + 'static,
    ) -> Option<R> {
        let (reply, answer) = mpsc::channel();
        let job: Job = Box::new(move |conn| {
            let _ = reply.send(job(conn));
        });
        self.jobs.as_ref()?.send(job).ok()?;
        answer.recv().ok()
    }

    fn try_call<R: Send + 'static>(
        &mut self,
        job: impl FnOnce(&mut dyn Connection) -> Result<R, DbError> + Send + 'static,
    ) -> Result<R, DbError> {
        let dialect = self.dialect;
        self.call(job)
            .unwrap_or_else(|| Err(DbError::new(stopped_message(dialect))))
    }
}

fn stopped_message(dialect: Dialect) -> String {
    format!("the thread of the {dialect} connection stopped")
}

impl Drop for OwnThread {
    /// Closes the connection on its thread: the client's goodbye blocks like every other call.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl Connection for OwnThread {
    fn dialect(&self) -> Dialect {
        self.dialect
    }
    fn execute(&mut self, sql: &str) -> Result<u64, DbError> {
        let sql = sql.to_string();
        self.try_call(move |conn| conn.execute(&sql))
    }
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<super::Value>>, DbError> {
        let sql = sql.to_string();
        self.try_call(move |conn| conn.query(&sql))
    }
    fn query_catalog(&mut self, sql: &str) -> Result<Vec<Vec<super::Value>>, DbError> {
        let sql = sql.to_string();
        self.try_call(move |conn| conn.query_catalog(&sql))
    }
    fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<super::Value>>, DbError> {
        let sql = sql.to_string();
        self.try_call(move |conn| conn.query_text(&sql))
    }
    fn begin(&mut self) -> Result<(), DbError> {
        self.try_call(|conn| conn.begin())
    }
    fn commit(&mut self) -> Result<(), DbError> {
        self.try_call(|conn| conn.commit())
    }
    fn rollback(&mut self) -> Result<(), DbError> {
        self.try_call(|conn| conn.rollback())
    }
    fn table_exists(&mut self, schema: Option<&str>, table: &str) -> Result<bool, DbError> {
        let (schema, table) = (schema.map(str::to_string), table.to_string());
        self.try_call(move |conn| conn.table_exists(schema.as_deref(), &table))
    }
    fn try_lock(&mut self, key: &str, timeout: Duration) -> Result<bool, DbError> {
        let key = key.to_string();
        self.try_call(move |conn| conn.try_lock(&key, timeout))
    }
    fn lock(&mut self, key: &str, timeout: Duration) -> Result<(), DbError> {
        let key = key.to_string();
        self.try_call(move |conn| conn.lock(&key, timeout))
    }
    fn lock_holder(&mut self, key: &str) -> Option<String> {
        let key = key.to_string();
        self.call(move |conn| conn.lock_holder(&key)).flatten()
    }
    fn unlock(&mut self, key: &str) -> Result<(), DbError> {
        let key = key.to_string();
        self.try_call(move |conn| conn.unlock(&key))
    }
    fn set_timeouts(
        &mut self,
        lock: Duration,
        statement: Duration,
        in_transaction: bool,
    ) -> Result<(), DbError> {
        self.try_call(move |conn| conn.set_timeouts(lock, statement, in_transaction))
    }
    fn reset_timeouts(&mut self) -> Result<(), DbError> {
        self.try_call(|conn| conn.reset_timeouts())
    }
    fn blocker(&mut self) -> Option<String> {
        self.call(|conn| conn.blocker()).flatten()
    }
    fn current_user(&mut self) -> Option<String> {
        self.call(|conn| conn.current_user()).flatten()
    }
    fn server_version(&mut self) -> Result<String, DbError> {
        self.try_call(|conn| conn.server_version())
    }
}
