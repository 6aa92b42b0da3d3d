//! A cache of parsed revision files, so that a command on a large history stats its files
//! instead of opening, reading and parsing every one of them.
//!
//! An entry is used only while its file's device, inode, size, mtime and ctime are exactly
//! what they were when it was read: the test git uses to trust its index. The cache lives in
//! `<script_location>/.retort-cache/` (it ignores itself for git and carries a CACHEDIR.TAG);
//! `RETORT_NO_CACHE=1` turns it off. A missing, unreadable, corrupt or foreign cache, or a
//! folder retort cannot write, only means the files are read as if there were no cache: the
//! cache never fails a command and never changes its result. The command line uses it; the
//! library (`Migrator::from_config`, `Project::load`) reads the files and writes nothing.
//!
//! Racy files: a file changed in the same clock tick as it was read could change again without
//! its timestamps moving. A fresh entry is stored only if the file's mtime and ctime are older
//! than the timestamp the file system gave a file created just before it was read (git's
//! "racily clean" rule); a file edited moments ago is read again next time.
//!
//! Damage: each entry is stored as its encoding beside a checksum of that encoding, and is
//! decoded only when the two agree, so a flipped bit, a torn write or a hand edit of
//! `revisions.bin` makes that entry a miss (its file is read again), never other SQL. See
//! [`Sealed`] for why the checksum covers the entry and not the file it stands for.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{DefaultHasher, Hasher};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use serde::{Deserialize, Serialize, Serializer};

use super::{open_revision, parse_file, read_revision, Script};
use crate::error::{Error, Result};
use crate::parallel;

/// Bumped whenever what is stored changes shape.
const FORMAT: u32 = 3;
const FILE_NAME: &str = "revisions.bin";
/// The folder below `script_location`.
pub(crate) const DIR_NAME: &str = ".retort-cache";

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    // The field types differ between platforms; every value fits an i64/u64.
    #[allow(clippy::unnecessary_cast)]
    fn of(stat: &rustix::fs::Stat) -> Stamp {
        Stamp {
            dev: stat.st_dev as u64,
            ino: stat.st_ino as u64,
            size: stat.st_size as u64,
            mtime: (stat.st_mtime as i64, stat.st_mtime_nsec as i64),
            ctime: (stat.st_ctime as i64, stat.st_ctime_nsec as i64),
        }
    }

    /// Last changed before `clock` (seconds, nanoseconds of the file system's clock).
    fn older_than(&self, clock: (i64, i64)) -> bool {
        self.mtime.max(self.ctime) < clock
    }
}

/// The retort binary that wrote a cache (size, mtime): another build may parse differently.
pub(crate) type Writer = (u64, (i64, i64));

/// The cache file; its entries stay encoded until their checksums are checked.
#[derive(Serialize, Deserialize)]
struct CacheFile<'a> {
    format: u32,
    writer: Writer,
    #[serde(borrow)]
    entries: Vec<Sealed<'a>>,
}

/// What the cache knows of one file. `S` is `Script` when reading and `&Script` when writing.
#[derive(Serialize, Deserialize)]
struct Entry<S> {
    stamp: Stamp,
    script: S,
}

/// One encoded [`Entry`] and the checksum of its bytes, stamp and path included.
///
/// A hit must not read its file (one stat per file is the point of the cache), so a hash of
/// the file's content could not be checked where it matters; the checksum of the entry can,
/// and it proves that what loads is what retort stored after parsing that file. It guards
/// against corruption, torn writes and edits by hand, which now cost a re-read instead of
/// changing what runs, not against forgery: a key kept beside the cache stops no one who can
/// edit the cache, and whoever can do that can edit the revision files too.
#[derive(Serialize, Deserialize)]
struct Sealed<'a> {
    checksum: u64,
    #[serde(borrow, serialize_with = "as_bytes")]
    entry: &'a [u8],
}

/// Written as one length-prefixed run of bytes, the form `&[u8]` is read back from.
fn as_bytes<S: Serializer>(bytes: &&[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

/// SipHash-1-3 with std's fixed keys: a 64-bit hash that misses a random change once in 2^64,
/// at under a third of SHA-256's cost (on a warm `heads` of 10,000 revisions, SHA-256 added
/// 8%, this adds 4%). std may change the algorithm between releases, but a cache is only read by
/// the build that wrote it.
fn checksum(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    hasher.finish()
}

impl Sealed<'_> {
    /// The entry, if its bytes are the ones its checksum was taken of.
    fn open(&self) -> Option<Entry<Script>> {
        if checksum(self.entry) != self.checksum {
            return None;
        }
        postcard::from_bytes(self.entry).ok()
    }
}

/// Where the cache of a project with this `script_location` lives, unless turned off.
pub(crate) fn dir_for(script_location: &Path) -> Option<PathBuf> {
    crate::settings::cache_enabled(&crate::env::ProcessEnv).then(|| script_location.join(DIR_NAME))
}

/// Loads `paths` as `super::scan_all` does without a cache, taking each unchanged file from
/// the cache in `dir` and storing what had to be read.
pub(super) fn load(dir: &Path, paths: &[&PathBuf]) -> Result<Vec<Result<Script>>> {
    let Some(writer) = writer_stamp() else {
        return parallel::map(paths.to_vec(), |p| read_revision(p));
    };
    // With a cache to compare against, the files are stat'ed while it is decoded.
    let (stored, now): (Vec<Entry<Script>>, Vec<Option<Stamp>>) =
        match std::fs::read(dir.join(FILE_NAME)) {
            Ok(bytes) => std::thread::scope(|scope| {
                let stat = scope.spawn(|| {
                    let folders = Folders::open(paths);
                    parallel::map(paths.to_vec(), |path| folders.stamp(path))
                });
                let stored = decode(&bytes, writer);
                let now = stat
                    .join()
                    .map_err(|_| Error::Internal("a worker thread panicked".into()))??;
                Ok::<_, Error>((stored, now))
            })?,
            Err(_) => (Vec::new(), vec![None; paths.len()]),
        };
    // Where each path's entry is, if it has one.
    let found: Vec<Option<usize>> = {
        // Keyed by bytes: hashing a `Path` walks its components, several times slower.
        let index: HashMap<&[u8], usize> = stored
            .iter()
            .enumerate()
            .map(|(i, e)| (e.script.path.as_os_str().as_encoded_bytes(), i))
            .collect();
        paths
            .iter()
            .map(|p| index.get(p.as_os_str().as_encoded_bytes()).copied())
            .collect()
    };
    let mut stored: Vec<Option<Entry<Script>>> = stored.into_iter().map(Some).collect();
    let hits: Vec<Option<(Stamp, Script)>> = found
        .iter()
        .zip(now)
        .map(|(at, now)| {
            let entry = stored.get_mut((*at)?)?.take()?;
            (now == Some(entry.stamp)).then_some((entry.stamp, entry.script))
        })
        .collect();
    let misses: Vec<&PathBuf> = hits
        .iter()
        .zip(paths)
        .filter(|(hit, _)| hit.is_none())
        .map(|(_, path)| *path)
        .collect();
    if misses.is_empty() {
        return Ok(hits.into_iter().flatten().map(|(_, s)| Ok(s)).collect());
    }
    // Taken before the misses are read: see the module's note on racy files.
    let clock = Clock::start(dir);
    let storable = |stamp: Option<Stamp>| {
        stamp.filter(|s| clock.as_ref().is_some_and(|c| s.older_than(c.now)))
    };
    let fresh = parallel::map(misses, |path| {
        let file = open_revision(path)?;
        // The stamp of the file actually read, even if the path was replaced meanwhile.
        let stamp = rustix::fs::fstat(&file).ok().map(|st| Stamp::of(&st));
        Ok((storable(stamp), parse_file(path, file)?))
    })?;
    // Nothing new to store (only bad or just-changed files): the cache stays as it is.
    let clock = clock.filter(|_| {
        fresh
            .iter()
            .any(|f| f.as_ref().is_ok_and(|(s, _)| s.is_some()))
    });
    let mut fresh = fresh.into_iter();
    // In load order: the stamp to store (if any) and the outcome.
    let outcomes = hits
        .into_iter()
        .map(|hit| match hit {
            Some((stamp, script)) => Ok((Some(stamp), Ok(script))),
            None => match fresh.next() {
                Some(Ok((stamp, script))) => Ok((stamp, Ok(script))),
                Some(Err(e)) => Ok((None, Err(e))),
                None => Err(Error::Internal("a revision file was not loaded".into())),
            },
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(clock) = clock {
        let entries = outcomes
            .iter()
            .filter_map(|(stamp, outcome)| {
                Some(Entry {
                    stamp: (*stamp)?,
                    script: outcome.as_ref().ok()?,
                })
            })
            .collect();
        clock.commit(writer, entries);
    }
    Ok(outcomes.into_iter().map(|(_, outcome)| outcome).collect())
}

/// The stored entries whose checksums agree; none when the cache is unreadable or from another
/// retort build.
fn decode(bytes: &[u8], writer: Writer) -> Vec<Entry<Script>> {
    match postcard::from_bytes::<CacheFile>(bytes) {
        Ok(file) if file.format == FORMAT && file.writer == writer => {
            file.entries.iter().filter_map(Sealed::open).collect()
        }
        _ => Vec::new(),
    }
}

/// The bytes of a cache file holding `entries`, each sealed with its checksum.
fn encode(writer: Writer, entries: &[Entry<&Script>]) -> Option<Vec<u8>> {
    let encoded = entries
        .iter()
        .map(postcard::to_stdvec)
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    let file = CacheFile {
        format: FORMAT,
        writer,
        entries: encoded
            .iter()
            .map(|entry| Sealed {
                checksum: checksum(entry),
                entry,
            })
            .collect(),
    };
    postcard::to_stdvec(&file).ok()
}

/// The folders of the revision files, open, so that each file is looked up by its name in
/// its folder rather than by walking its whole path: a third less time per file.
struct Folders(Vec<(PathBuf, OwnedFd)>);

impl Folders {
    fn open(paths: &[&PathBuf]) -> Folders {
        let mut open: Vec<(PathBuf, OwnedFd)> = Vec::new();
        for parent in paths.iter().filter_map(|p| p.parent()) {
            // Files come grouped by folder: the last one opened is almost always the one.
            if open.iter().rev().any(|(dir, _)| dir == parent) {
                continue;
            }
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            if let Ok(fd) = rustix::fs::open(parent, flags, Mode::empty()) {
                open.push((parent.to_path_buf(), fd));
            }
        }
        Folders(open)
    }

    fn stamp(&self, path: &Path) -> Option<Stamp> {
        let parent = path.parent()?;
        let (_, fd) = self.0.iter().rev().find(|(dir, _)| dir == parent)?;
        let stat = rustix::fs::statat(fd, path.file_name()?, AtFlags::empty()).ok()?;
        Some(Stamp::of(&stat))
    }
}

/// The running binary's size and mtime.
pub(crate) fn writer_stamp() -> Option<Writer> {
    let meta = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
    Some((meta.size(), (meta.mtime(), meta.mtime_nsec())))
}

/// A new cache file, created before the files it will describe are read; its creation time is
/// the file system's "now" for the racy-file rule.
struct Clock {
    file: File,
    path: PathBuf,
    dir: PathBuf,
    now: (i64, i64),
}

impl Clock {
    fn start(dir: &Path) -> Option<Clock> {
        prepare_dir(dir).ok()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = dir.join(format!("{FILE_NAME}.{}.{nanos}.tmp", std::process::id()));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .ok()?;
        let meta = file.metadata().ok()?;
        let now = (meta.mtime(), meta.mtime_nsec());
        Some(Clock {
            file,
            path,
            dir: dir.to_path_buf(),
            now,
        })
    }

    /// Writes `entries` and moves the file into place; readers see the old cache or the new.
    fn commit(mut self, writer: Writer, entries: Vec<Entry<&Script>>) {
        let written = encode(writer, &entries)
            .filter(|bytes| self.file.write_all(bytes).is_ok())
            .is_some();
        if written && std::fs::rename(&self.path, self.dir.join(FILE_NAME)).is_ok() {
            remove_abandoned(&self.dir, FILE_NAME);
        }
    }
}

/// Temporary files (`<prefix>….tmp`) of runs killed before they could move theirs into
/// place. A running writer's file is seconds old; an hour is far beyond any run.
pub(crate) fn remove_abandoned(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let abandoned = name.starts_with(prefix)
            && name.ends_with(".tmp")
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago);
        if abandoned {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Drop for Clock {
    /// The temporary file goes unless it was moved into place.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Creates the cache folder with what keeps it out of git and out of backups. Only the folder
/// itself: a misconfigured `script_location` must not appear on disk.
pub(crate) fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    for (name, text) in [
        (
            ".gitignore",
            "# Created by retort: a cache, safe to delete.\n*\n",
        ),
        (
            "CACHEDIR.TAG",
            "Signature: 8a477f597d28d172789f06886806bc55\n\
             # This file is a cache directory tag created by retort.\n",
        ),
    ] {
        let path = dir.join(name);
        if !path.exists() {
            std::fs::write(path, text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::scan;

    /// A project folder with `versions/` holding `files`, all older than the file system's
    /// clock by the time this returns (so a scan may store them).
    fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let versions = tmp.path().join("versions");
        std::fs::create_dir(&versions).unwrap();
        for (name, text) in files {
            std::fs::write(versions.join(name), text).unwrap();
        }
        let newest = files
            .iter()
            .map(|(name, _)| {
                stamp_of(&versions.join(name))
                    .mtime
                    .max(stamp_of(&versions.join(name)).ctime)
            })
            .max()
            .unwrap_or_default();
        wait_until_clock_passes(tmp.path(), newest);
        let cache = tmp.path().join(DIR_NAME);
        (tmp, versions, cache)
    }

    fn stamp_of(path: &Path) -> Stamp {
        Stamp::of(&rustix::fs::stat(path).unwrap())
    }

    /// File systems stamp in ticks (nanoseconds to two seconds): wait for the next one.
    fn wait_until_clock_passes(dir: &Path, time: (i64, i64)) {
        let probe = dir.join("probe");
        for _ in 0..300 {
            std::fs::write(&probe, "").unwrap();
            let now = stamp_of(&probe).mtime;
            std::fs::remove_file(&probe).unwrap();
            if now > time {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the file system clock did not move in 3 s");
    }

    fn revision(id: &str, message: &str) -> String {
        format!(
            "-- revision = \"{id}\"\n-- message = \"{message}\"\n\n-- migrate:upgrade\nSELECT 1;\n"
        )
    }

    fn messages(versions: &Path, cache: &Path) -> Vec<String> {
        let (scripts, _) = scan(&[versions.to_path_buf()], false, Some(cache)).unwrap();
        scripts
            .into_iter()
            .map(|s| s.meta.message.unwrap())
            .collect()
    }

    /// The writer and the entries of the cache file, each checksum checked.
    fn stored(cache: &Path) -> (Writer, Vec<Entry<Script>>) {
        let bytes = std::fs::read(cache.join(FILE_NAME)).unwrap();
        let file: CacheFile = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(file.format, FORMAT);
        let entries = file
            .entries
            .iter()
            .map(|e| e.open().expect("an entry whose checksum disagrees"))
            .collect();
        (file.writer, entries)
    }

    /// Stores `entries` as retort would have, had `writer` written them.
    fn store(cache: &Path, writer: Writer, entries: &[Entry<Script>]) {
        let entries: Vec<Entry<&Script>> = entries
            .iter()
            .map(|e| Entry {
                stamp: e.stamp,
                script: &e.script,
            })
            .collect();
        std::fs::write(cache.join(FILE_NAME), encode(writer, &entries).unwrap()).unwrap();
    }

    /// Rewrites the stored message of every entry: what a scan then returns came from the cache.
    fn tamper(cache: &Path, message: &str) {
        let (writer, mut entries) = stored(cache);
        for entry in &mut entries {
            entry.script.meta.message = Some(message.into());
        }
        store(cache, writer, &entries);
    }

    /// What a scan of `versions` loads, with the cache in `cache` or with none.
    fn loaded(versions: &Path, cache: Option<&Path>) -> Vec<Script> {
        scan(&[versions.to_path_buf()], false, cache).unwrap().0
    }

    #[test]
    fn unchanged_files_come_from_the_cache_and_changed_ones_from_disk() {
        let (_tmp, versions, cache) = project(&[
            ("a1_x.sql", &revision("a1", "one")),
            ("b2_x.sql", &revision("b2", "two")),
        ]);
        assert_eq!(messages(&versions, &cache), ["one", "two"]);
        assert_eq!(stored(&cache).1.len(), 2);
        assert!(cache.join(".gitignore").is_file() && cache.join("CACHEDIR.TAG").is_file());

        tamper(&cache, "from cache");
        assert_eq!(messages(&versions, &cache), ["from cache", "from cache"]);

        // Same size, new text: the stamps (mtime, ctime) tell.
        std::fs::write(versions.join("b2_x.sql"), revision("b2", "TWO")).unwrap();
        assert_eq!(messages(&versions, &cache), ["from cache", "TWO"]);
    }

    #[test]
    fn a_file_replaced_by_another_is_read_again() {
        let (_tmp, versions, cache) = project(&[("a1_x.sql", &revision("a1", "one"))]);
        messages(&versions, &cache);
        tamper(&cache, "from cache");
        let other = versions.parent().unwrap().join("other.sql");
        std::fs::write(&other, revision("a1", "new")).unwrap();
        std::fs::rename(&other, versions.join("a1_x.sql")).unwrap();
        assert_eq!(messages(&versions, &cache), ["new"]);
    }

    #[test]
    fn a_file_changed_in_the_current_clock_tick_is_not_stored() {
        let (_tmp, versions, cache) = project(&[("a1_x.sql", &revision("a1", "one"))]);
        let path = versions.join("a1_x.sql");
        // A time in the future stands for "changed in the tick the cache is written".
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(messages(&versions, &cache), ["one"]);
        // Nothing could be stored, so nothing was written, not even a temporary file.
        assert!(std::fs::read_dir(&cache).unwrap().all(|e| {
            let name = e.unwrap().file_name();
            name == ".gitignore" || name == "CACHEDIR.TAG"
        }));
    }

    #[test]
    fn a_corrupt_or_foreign_cache_is_ignored_and_replaced() {
        let (_tmp, versions, cache) = project(&[("a1_x.sql", &revision("a1", "one"))]);
        messages(&versions, &cache);
        std::fs::write(cache.join(FILE_NAME), b"\x01\xff\xff\xff garbage").unwrap();
        assert_eq!(messages(&versions, &cache), ["one"]);
        assert_eq!(stored(&cache).1.len(), 1);

        tamper(&cache, "from cache");
        let ((size, mtime), entries) = stored(&cache);
        store(&cache, (size + 1, mtime), &entries);
        assert_eq!(messages(&versions, &cache), ["one"]);
    }

    #[test]
    fn sql_edited_inside_the_cache_is_not_what_loads() {
        let (_tmp, versions, cache) = project(&[("a1_x.sql", &revision("a1", "one"))]);
        let from_disk = loaded(&versions, None);
        loaded(&versions, Some(&cache));
        let bytes = std::fs::read(cache.join(FILE_NAME)).unwrap();
        // Same length, so the entry still decodes: only its checksum can tell.
        let at = bytes
            .windows(9)
            .position(|w| w == b"SELECT 1;")
            .expect("the cache holds the SQL");
        let mut edited = bytes.clone();
        edited[at..at + 9].copy_from_slice(b"DROP t_1;");
        std::fs::write(cache.join(FILE_NAME), &edited).unwrap();
        assert_eq!(loaded(&versions, Some(&cache)), from_disk);
        // The file was read again, and what it holds replaced the damaged entry.
        assert_eq!(std::fs::read(cache.join(FILE_NAME)).unwrap(), bytes);
    }

    #[test]
    fn no_flipped_bit_anywhere_in_the_cache_changes_what_loads() {
        let (_tmp, versions, cache) = project(&[
            ("a1_x.sql", &revision("a1", "one")),
            ("b2_x.sql", &revision("b2", "two")),
        ]);
        let from_disk = loaded(&versions, None);
        loaded(&versions, Some(&cache));
        let bytes = std::fs::read(cache.join(FILE_NAME)).unwrap();
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << (at % 8);
            std::fs::write(cache.join(FILE_NAME), &damaged).unwrap();
            assert_eq!(
                loaded(&versions, Some(&cache)),
                from_disk,
                "bit {} of byte {at} flipped",
                at % 8
            );
        }
    }

    #[test]
    fn temporary_files_of_killed_runs_are_removed_once_old() {
        let (_tmp, versions, cache) = project(&[("a1_x.sql", &revision("a1", "one"))]);
        std::fs::create_dir(&cache).unwrap();
        let old = cache.join(format!("{FILE_NAME}.1.2.tmp"));
        let recent = cache.join(format!("{FILE_NAME}.3.4.tmp"));
        for path in [&old, &recent] {
            std::fs::write(path, "partial").unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        messages(&versions, &cache);
        assert!(!old.exists(), "an abandoned temporary file stayed");
        assert!(
            recent.exists(),
            "a possibly running writer's file was removed"
        );
    }

    #[test]
    fn a_cache_that_cannot_be_written_changes_nothing() {
        let (_tmp, versions, cache) = project(&[("a1_x.sql", &revision("a1", "one"))]);
        std::fs::write(&cache, "a file where the folder would go").unwrap();
        assert_eq!(messages(&versions, &cache), ["one"]);
        assert_eq!(messages(&versions, &cache), ["one"]);
    }

    #[test]
    fn bad_files_are_reported_every_time_and_never_stored() {
        let (_tmp, versions, cache) = project(&[
            ("a1_x.sql", &revision("a1", "one")),
            ("b2_x.sql", "-- revision = 2\n"),
        ]);
        let mut written = Vec::new();
        for _ in 0..2 {
            let report =
                crate::script::scan_all(std::slice::from_ref(&versions), false, Some(&cache))
                    .unwrap();
            assert_eq!(report.scripts.len(), 1);
            assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
            written.push(stamp_of(&cache.join(FILE_NAME)));
        }
        assert_eq!(stored(&cache).1.len(), 1);
        // The second scan had nothing new to store: the cache was not rewritten, and no
        // temporary file was left behind.
        assert_eq!(written[0], written[1]);
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 3);
    }
}
