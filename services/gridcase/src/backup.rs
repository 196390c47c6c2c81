//! `gridcase backup` and `gridcase restore`.
//!
//! A backup is taken online, from the running store over NATS, while intake goes on: it reads
//! the log's head once and copies every record before it, so the backup is the log exactly as
//! it stood at that position (the log is append-only: nothing before the head changes). With
//! it go the data directory's files the log alone cannot give back: the gateway's signing key
//! (residents' private links and QR posters), the NATS logins (department systems' credentials),
//! triage's trained model and residents' photos. Projections are not copied: they are rebuilt
//! from the log when the restored system starts.
//!
//! The backup directory holds `events.log` (see [`gridcase_eventstore::backup`]), the files
//! under `files/`, and `manifest.toml`, written last: a directory without a manifest is an
//! unfinished backup, and restore refuses it. The manifest keeps each file's size and SHA-256,
//! and restore checks them all before it writes anything. The backup holds residents' personal
//! data and the installation's secrets, so it is readable by its owner only.
//!
//! A restore imports the log into a scratch directory beside the new data directory's store,
//! checking every record as an append would be checked, and moves it into place only when all
//! went well; then it reads the whole restored log back (`verify`).

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context};
use gridcase_bus::StoreClient;
use gridcase_eventstore::backup::{LogFileReader, LogFileWriter};
use gridcase_eventstore::{SledStore, SledStoreConfig};
use serde::{Deserialize, Serialize};

use crate::system::LOGINS_FILE;

/// The manifest's file name; it is written last.
pub const MANIFEST_FILE: &str = "manifest.toml";
/// The log's file name in a backup.
pub const LOG_FILE: &str = "events.log";
/// Where the data directory's files go in a backup.
const FILES_DIR: &str = "files";
/// The manifest's format.
const FORMAT: u32 = 1;
/// Records asked for per read.
const READ_BATCH: usize = 4_096;

/// The data directory's files a backup keeps, beside the log: single files, then directories
/// copied whole.
const DATA_FILES: &[&str] = &[
    gridcase_gateway::KEY_FILE,
    LOGINS_FILE,
    gridcase_triage::model::MODEL_FILE,
];
const DATA_DIRS: &[&str] = &[gridcase_gateway::MEDIA_DIR, KEYS_DIR];

/// The key vault residents' contacts are sealed with, in the store's directory
/// (`gridcase_store_node::default_keys_dir`). A backup holds the keys as they were when it was
/// taken: restoring it brings back a person erased since, who must then be erased again.
pub const KEYS_DIR: &str = "store/keys";

/// What a backup holds, as `manifest.toml` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The manifest's format.
    pub format: u32,
    /// The log position the backup is consistent at: it holds events `0..position`.
    pub position: u64,
    /// Streams (cases and others) those events belong to.
    pub streams: u64,
    /// When the backup was taken, milliseconds since the Unix epoch.
    pub taken_at_ms: i64,
    /// The log file.
    pub log: FileEntry,
    /// The data directory's files, by path relative to it (in shard 0's backup only).
    #[serde(default)]
    pub files: Vec<FileEntry>,
    /// The store shard whose log this is; backups from before shards were shard 0's.
    #[serde(default = "home_shard")]
    pub shard: String,
}

fn home_shard() -> String {
    gridcase_bus::subjects::DEFAULT_SHARD.to_owned()
}

/// The directory of store shard `shard`'s log in data directory `data`: `store` for shard 0,
/// `store-<n>` for the others (as `gridcase up --shards` keeps them).
pub fn store_dir(data: &Path, shard: &str) -> PathBuf {
    match shard {
        "0" => data.join("store"),
        n => data.join(format!("store-{n}")),
    }
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Its path in the backup's `files/` (the log: its name), `/`-separated.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, in hex.
    pub sha256: String,
}

/// How an administrator's command reaches the running system: as the `admin` NATS login in
/// the data directory, to the store of one shard.
#[derive(Debug, Clone, clap::Args)]
pub struct AdminConnection {
    /// The running system's data directory (the one given to `gridcase up`): its logins let
    /// the command in.
    #[arg(long, env = "GRIDCASE_DATA", default_value = "data")]
    pub data: PathBuf,
    /// NATS server URL of the running system.
    #[arg(
        long,
        env = "GRIDCASE_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats: String,
    /// The store shard a command of one shard works on (`gridcase backup`).
    #[arg(long, env = "GRIDCASE_STORE_SHARD", default_value = "0")]
    pub shard: String,
    /// How many store shards the city has: a command on cases (`gridcase erase`) reaches
    /// each case in its shard.
    #[arg(long, env = "GRIDCASE_STORE_SHARDS", default_value_t = 1)]
    pub shards: usize,
}

impl AdminConnection {
    /// Connects as `admin`: the NATS client and a client of every shard of the city, each
    /// case's operations sent to its shard.
    pub async fn connect_city(&self) -> anyhow::Result<(async_nats::Client, StoreClient)> {
        let map = gridcase_bus::ShardMap::new(self.shards, "").map_err(anyhow::Error::msg)?;
        let nats = connect_admin(&self.data, &self.nats).await?;
        let store = StoreClient::sharded(nats.clone(), map);
        Ok((nats, store))
    }

    /// Connects as `admin`: the NATS client and the store of shard `--shard` alone.
    pub async fn connect(&self) -> anyhow::Result<(async_nats::Client, StoreClient)> {
        let nats = connect_admin(&self.data, &self.nats).await?;
        let store = StoreClient::new(nats.clone(), &self.shard);
        Ok((nats, store))
    }
}

/// Settings of `gridcase backup`.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    /// The directory to write the backup to; it must not exist yet (or be empty).
    #[arg(long)]
    pub to: PathBuf,
    /// The running system (its data directory's keys, logins, model and photos go into the
    /// backup with the log).
    #[command(flatten)]
    pub system: AdminConnection,
}

/// Settings of `gridcase restore`.
#[derive(Debug, Clone, clap::Args)]
pub struct RestoreArgs {
    /// The backup directory (`gridcase backup --to`).
    #[arg(long)]
    pub from: PathBuf,
    /// The new data directory; it must hold no store yet. Start the system on it with
    /// `gridcase up --data` afterwards.
    #[arg(long)]
    pub data: PathBuf,
}

/// SHA-256 of everything written through it.
struct Digesting<W> {
    inner: W,
    digest: ring::digest::Context,
    bytes: u64,
}

impl<W: Write> Digesting<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            digest: ring::digest::Context::new(&ring::digest::SHA256),
            bytes: 0,
        }
    }

    fn entry(self, path: String) -> (W, FileEntry) {
        let sha256 = hex(self.digest.finish().as_ref());
        let entry = FileEntry {
            path,
            bytes: self.bytes,
            sha256,
        };
        (self.inner, entry)
    }
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new file readable by its owner only.
fn create_private(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// A directory (and its parents) only its owner may enter.
fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .with_context(|| format!("creating {}", path.display()))
}

fn sync(file: &std::fs::File, path: &Path) -> anyhow::Result<()> {
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))
}

/// Connects to the system's NATS as its administrator: with the login in `data`'s logins file
/// when the URL carries none and the file exists (as `gridcase up` writes it), else as the URL
/// says.
pub async fn connect_admin(data: &Path, url: &str) -> anyhow::Result<async_nats::Client> {
    let logins_path = data.join(LOGINS_FILE);
    let has_credentials = url.contains('@');
    let client = if !has_credentials && logins_path.exists() {
        let logins = gridcase_bus::Logins::load_or_create(&logins_path, Vec::new())?;
        let admin = logins
            .login(gridcase_bus::logins::ADMIN_USER)
            .with_context(|| format!("no admin login in {}", logins_path.display()))?;
        gridcase_bus::connect_as(url, &admin).await
    } else {
        gridcase_bus::connect(url).await
    };
    client.with_context(|| format!("connecting to NATS at {}", gridcase_bus::redact_url(url)))
}

/// What [`backup`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The manifest written.
    pub manifest: Manifest,
    /// The backup's directory.
    pub dir: PathBuf,
}

/// Backs up the store shard that `store` reaches (a client of one shard), and with shard 0
/// `data`'s files, into `to`. A sharded city backs up each shard on its own.
pub async fn backup_with(
    store: &StoreClient,
    data: &Path,
    to: &Path,
) -> anyhow::Result<BackupReport> {
    ensure!(
        store.shards().len() == 1,
        "back up one shard at a time (--shard): this client reaches {}",
        store.shards().len()
    );
    let shard = store.map().name(0).to_owned();
    if to.exists() {
        let mut entries =
            std::fs::read_dir(to).with_context(|| format!("reading {}", to.display()))?;
        ensure!(
            entries.next().is_none(),
            "{} is not empty: back up into a new directory",
            to.display()
        );
    }
    create_private_dir(to)?;
    // The position the backup is consistent at: every record before it is durable and can
    // no longer change.
    let position = store
        .head()
        .await
        .context("asking the store for its head")?;
    let log_path = to.join(LOG_FILE);
    let file = create_private(&log_path)?;
    let mut log = LogFileWriter::new(Digesting::new(BufWriter::new(file)))?;
    let mut streams = std::collections::HashSet::new();
    while log.records() < position {
        let from = log.records();
        let records = store
            .read_all_raw(from, READ_BATCH.min((position - from) as usize))
            .await
            .with_context(|| format!("reading the log from position {from}"))?;
        ensure!(
            !records.is_empty(),
            "the store returned nothing from position {from}, below its head {position}"
        );
        for (at, bytes) in records.iter().filter(|(at, _)| *at < position) {
            // Checked now, so a backup never keeps a record that cannot be read back.
            let view = gridcase_eventstore::view_record(*at, bytes)
                .with_context(|| format!("the store's record at position {at}"))?;
            if view.stream_version == 0 {
                streams.insert(view.stream_id.to_owned());
            }
            log.push(*at, bytes)?;
        }
    }
    let (writer, log_entry) = log.finish()?.entry(LOG_FILE.to_owned());
    let file = writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing {}: {}", log_path.display(), e.error()))?;
    sync(&file, &log_path)?;

    let mut files = Vec::new();
    // The data directory's files go with shard 0's log, once.
    let (data_files, data_dirs) = if shard == home_shard() {
        (DATA_FILES, DATA_DIRS)
    } else {
        (&[][..], &[][..])
    };
    for name in data_files {
        let from = data.join(name);
        if from.is_file() {
            files.push(copy_in(&from, to, name)?);
        }
    }
    for dir in data_dirs {
        for relative in files_under(&data.join(dir), Path::new(dir))? {
            files.push(copy_in(&data.join(&relative), to, &slash_path(&relative))?);
        }
    }
    let manifest = Manifest {
        format: FORMAT,
        position,
        streams: streams.len() as u64,
        taken_at_ms: now_ms(),
        log: log_entry,
        files,
        shard,
    };
    write_manifest(to, &manifest)?;
    Ok(BackupReport {
        manifest,
        dir: to.to_owned(),
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Files under `dir` (recursively), as paths starting with `prefix`, sorted; files being
/// written (named `.…`, renamed into place when whole) are left out. No `dir`: none.
fn files_under(dir: &Path, prefix: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            out.extend(files_under(&entry.path(), &prefix.join(&name))?);
        } else if kind.is_file() {
            out.push(prefix.join(&name));
        }
    }
    out.sort();
    Ok(out)
}

/// Copies `from` into the backup `to` as `files/<path>`, returning its entry.
fn copy_in(from: &Path, to: &Path, path: &str) -> anyhow::Result<FileEntry> {
    let target = to.join(FILES_DIR).join(path);
    if let Some(parent) = target.parent() {
        create_private_dir(parent)?;
    }
    let mut input =
        std::fs::File::open(from).with_context(|| format!("opening {}", from.display()))?;
    let mut out = Digesting::new(create_private(&target)?);
    std::io::copy(&mut input, &mut out).with_context(|| format!("copying {}", from.display()))?;
    let (file, entry) = out.entry(path.to_owned());
    sync(&file, &target)?;
    Ok(entry)
}

fn write_manifest(to: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    let text = format!(
        "# gridcase backup: the store's log up to `position` and the data directory's files.\n\
         # Restore it with `gridcase restore --from <this directory> --data <new data directory>`.\n\n{}",
        toml::to_string(manifest).context("writing the manifest")?
    );
    let temp = to.join(format!(".{MANIFEST_FILE}.tmp"));
    let mut file = create_private(&temp)?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", temp.display()))?;
    sync(&file, &temp)?;
    let path = to.join(MANIFEST_FILE);
    std::fs::rename(&temp, &path).with_context(|| format!("writing {}", path.display()))?;
    // The rename is durable once the directory is.
    std::fs::File::open(to)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("syncing {}", to.display()))
}

/// Reads a backup's manifest.
pub fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{}: no {MANIFEST_FILE}: not a backup, or one that did not finish",
            dir.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let manifest: Manifest = toml::from_str(&text)
        .with_context(|| format!("{}: not a backup manifest", path.display()))?;
    ensure!(
        manifest.format == FORMAT,
        "{}: format {} (this gridcase reads format {FORMAT})",
        path.display(),
        manifest.format
    );
    for entry in &manifest.files {
        let safe = !entry.path.is_empty()
            && Path::new(&entry.path)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        ensure!(
            safe,
            "{}: file path {:?} leaves the backup",
            path.display(),
            entry.path
        );
    }
    Ok(manifest)
}

/// Checks that `path` has the size and SHA-256 the manifest gives.
fn check_file(path: &Path, entry: &FileEntry) -> anyhow::Result<()> {
    let mut input = BufReader::new(
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
    );
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut bytes = 0u64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = input
            .read(&mut buffer)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        digest.update(&buffer[..n]);
        bytes += n as u64;
    }
    let sha256 = hex(digest.finish().as_ref());
    ensure!(
        bytes == entry.bytes && sha256 == entry.sha256,
        "{}: {bytes} bytes with SHA-256 {sha256}, but the manifest says {} bytes with {}: the backup is damaged",
        path.display(),
        entry.bytes,
        entry.sha256
    );
    Ok(())
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// Events and streams the restored store holds, as its verify counted them.
    pub events: u64,
    /// Streams.
    pub streams: u64,
}

/// Restores the backup in `from` into the new data directory `data` (a shard's log beside
/// the shards restored before it).
pub fn restore(from: &Path, data: &Path) -> anyhow::Result<RestoreReport> {
    let manifest = read_manifest(from)?;
    let store_path = store_dir(data, &manifest.shard);
    ensure!(
        !store_path.exists(),
        "{} already exists: restore into a new data directory",
        store_path.display()
    );
    for entry in &manifest.files {
        let target = data.join(&entry.path);
        ensure!(
            !target.exists(),
            "{} already exists: restore into a new data directory",
            target.display()
        );
    }
    // Everything is checked before anything is written.
    check_file(&from.join(LOG_FILE), &manifest.log)?;
    for entry in &manifest.files {
        check_file(&from.join(FILES_DIR).join(&entry.path), entry)?;
    }

    create_private_dir(data)?;
    let scratch = data.join(format!(".store-{}.restoring", manifest.shard));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)
            .with_context(|| format!("removing {}", scratch.display()))?;
    }
    let log_path = from.join(LOG_FILE);
    let input = BufReader::new(
        std::fs::File::open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?,
    );
    let config = SledStoreConfig::new(&scratch);
    let imported = SledStore::import(&config, LogFileReader::new(input), |done| {
        eprint!("\rrestoring {done}/{} events", manifest.position);
    });
    eprintln!();
    let imported = match imported {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&scratch);
            return Err(e).with_context(|| format!("restoring {}", log_path.display()));
        }
    };
    if imported.events != manifest.position {
        let _ = std::fs::remove_dir_all(&scratch);
        bail!(
            "{}: {} events where the manifest promises {}",
            log_path.display(),
            imported.events,
            manifest.position
        );
    }
    std::fs::rename(&scratch, &store_path)
        .with_context(|| format!("moving the restored store to {}", store_path.display()))?;

    for entry in &manifest.files {
        let target = data.join(&entry.path);
        if let Some(parent) = target.parent() {
            create_private_dir(parent)?;
        }
        let source = from.join(FILES_DIR).join(&entry.path);
        let mut input = std::fs::File::open(&source)
            .with_context(|| format!("opening {}", source.display()))?;
        let mut out = create_private(&target)?;
        std::io::copy(&mut input, &mut out)
            .with_context(|| format!("copying {}", source.display()))?;
        sync(&out, &target)?;
    }

    let store = SledStore::open_path(&store_path)?;
    let report = store.verify(|_, _| {})?;
    ensure!(
        report.is_ok(),
        "the restored store at {} fails verify: {}",
        store_path.display(),
        report.problems.join("; ")
    );
    Ok(RestoreReport {
        manifest,
        events: report.events,
        streams: report.streams,
    })
}

/// Runs `gridcase backup`.
pub async fn run_backup(args: BackupArgs) -> anyhow::Result<()> {
    let (_, store) = args.system.connect().await?;
    let report = backup_with(&store, &args.system.data, &args.to).await?;
    let manifest = &report.manifest;
    println!(
        "backed up shard {}: {} events of {} streams (the log up to position {}) and {} files to {}",
        manifest.shard,
        manifest.position,
        manifest.streams,
        manifest.position,
        manifest.files.len(),
        report.dir.display()
    );
    Ok(())
}

/// Runs `gridcase restore`.
pub fn run_restore(args: RestoreArgs) -> anyhow::Result<()> {
    let report = restore(&args.from, &args.data)?;
    println!(
        "restored {} events of {} streams (the log up to position {}) and {} files into {}; \
         the log is sound. Start it with: gridcase up --data {}",
        report.events,
        report.streams,
        report.manifest.position,
        report.manifest.files.len(),
        args.data.display(),
        args.data.display()
    );
    Ok(())
}
