//! Backups in mongodump's layout (`<out>/<db>/<collection>.bson` + `.metadata.json`, optionally
//! gzipped): taken natively through the driver, or by the `mongodump` program with the password
//! in a 0600 `--config` file; and the retention of older dumps.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, DateTime, Document, RawDocumentBuf};
use mongodb::Database;

use crate::config::{DumpTool, Settings};
use crate::error::{Error, Result};
use crate::store::catalog;

/// What a dump wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DumpReport {
    /// The dump's directory (holding `<db>/`).
    pub(crate) path: PathBuf,
    pub(crate) collections: usize,
    /// Documents and BSON bytes written (native dumps only; mongodump does not say).
    pub(crate) documents: Option<u64>,
    pub(crate) bytes: Option<u64>,
    pub(crate) took: Duration,
}

/// Collections a dump leaves out: migo's lock (a dump is taken while holding it).
pub(crate) fn excluded(settings: &Settings) -> Vec<String> {
    vec![format!("{}_lock", settings.migrations.collection)]
}

/// A fresh directory for a dump: `<directory>/<environment>-<UTC timestamp>`.
pub(crate) fn new_dump_dir(settings: &Settings) -> PathBuf {
    let stamp = DateTime::now()
        .try_to_rfc3339_string()
        .unwrap_or_default()
        .replace(['-', ':'], "");
    settings
        .dump
        .directory
        .join(format!("{}-{stamp}", environment_label(settings)))
}

fn environment_label(settings: &Settings) -> &str {
    settings.environment.as_deref().unwrap_or("default")
}

/// Takes a dump of `db` into `out` with the configured tool. `progress` receives a line now and
/// then for large collections.
pub(crate) async fn take(
    db: &Database,
    settings: &Settings,
    out: &Path,
    progress: &dyn Fn(&str),
) -> Result<DumpReport> {
    let started = Instant::now();
    let failed = |message: String| Error::DumpFailed {
        path: out.to_path_buf(),
        message,
        hint: None,
    };
    std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")))
        .and_then(|()| std::fs::create_dir(out))
        .map_err(|e| failed(format!("cannot create the directory: {e}")))?;
    let mut report = match settings.dump.tool {
        DumpTool::Native => native(db, settings, out, progress).await?,
        DumpTool::Mongodump => mongodump(settings, out)?,
    };
    report.took = started.elapsed();
    // The audit log and the output name it absolutely: it is read from elsewhere, later.
    report.path = std::fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf());
    Ok(report)
}

/// The dump through the driver: documents streamed from a cursor straight to the file, so memory
/// does not grow with a collection's size.
async fn native(
    db: &Database,
    settings: &Settings,
    out: &Path,
    progress: &dyn Fn(&str),
) -> Result<DumpReport> {
    let failed = |message: String| Error::DumpFailed {
        path: out.to_path_buf(),
        message,
        hint: None,
    };
    let db_dir = out.join(db.name());
    std::fs::create_dir(&db_dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", db_dir.display())))?;
    let gzip = settings.dump.gzip;
    let skip = excluded(settings);
    let wanted = &settings.dump.collections;
    let (mut documents, mut bytes, mut collections) = (0u64, 0u64, 0usize);
    for spec in catalog::collections(db).await? {
        let name = spec.get_str("name").unwrap_or_default().to_string();
        let is_collection = spec.get_str("type").map_or(true, |t| t == "collection");
        let chosen = wanted.is_empty() || wanted.contains(&name);
        if !is_collection || name.starts_with("system.") || skip.contains(&name) || !chosen {
            continue;
        }
        let metadata = metadata(db, &name, &spec).await?;
        let suffix = if gzip { ".gz" } else { "" };
        write_file(
            &db_dir.join(format!("{name}.metadata.json{suffix}")),
            gzip,
            |w| w.write_all(metadata.as_bytes()),
        )
        .map_err(|e| failed(format!("cannot write the metadata of `{name}`: {e}")))?;
        let path = db_dir.join(format!("{name}.bson{suffix}"));
        let (n, size) = dump_documents(db, &name, &path, gzip, progress)
            .await
            .map_err(|e| failed(format!("cannot dump `{name}`: {e}")))?;
        documents += n;
        bytes += size;
        collections += 1;
    }
    Ok(DumpReport {
        path: out.to_path_buf(),
        collections,
        documents: Some(documents),
        bytes: Some(bytes),
        took: Duration::ZERO,
    })
}

/// mongodump's `<collection>.metadata.json`: options and indexes, in canonical Extended JSON.
async fn metadata(db: &Database, name: &str, spec: &Document) -> Result<String> {
    let indexes: Vec<Bson> = catalog::indexes(db, name)
        .await?
        .into_iter()
        .map(Bson::Document)
        .collect();
    let options = spec.get_document("options").cloned().unwrap_or_default();
    let metadata = doc! {
        "indexes": indexes,
        "collectionName": name,
        "type": "collection",
        "options": options,
    };
    Ok(Bson::Document(metadata)
        .into_canonical_extjson()
        .to_string())
}

/// Streams `name`'s documents, as the server's raw BSON, into `path`. Returns documents, bytes.
async fn dump_documents(
    db: &Database,
    name: &str,
    path: &Path,
    gzip: bool,
    progress: &dyn Fn(&str),
) -> std::result::Result<(u64, u64), String> {
    let collection = db.collection::<RawDocumentBuf>(name);
    let total = collection.estimated_document_count().await.unwrap_or(0);
    // Bounded batches keep memory flat: the server would otherwise send up to 16 MB at a time.
    let mut cursor = collection
        .find(doc! {})
        .batch_size(2_000)
        .await
        .map_err(|e| e.to_string())?;
    let mut writer = open(path, gzip).map_err(|e| e.to_string())?;
    let (mut count, mut bytes) = (0u64, 0u64);
    let mut last_report = Instant::now();
    while let Some(document) = cursor.try_next().await.map_err(|e| e.to_string())? {
        let raw = document.as_bytes();
        writer.write_all(raw).map_err(|e| e.to_string())?;
        count += 1;
        bytes += raw.len() as u64;
        if total >= 10_000 && last_report.elapsed() >= Duration::from_secs(1) {
            progress(&format!(
                "dumping `{name}`: {count} of about {total} documents"
            ));
            last_report = Instant::now();
        }
    }
    writer.finish().map_err(|e| e.to_string())?;
    Ok((count, bytes))
}

/// A file being written, plain or gzipped.
enum Output {
    Plain(std::io::BufWriter<std::fs::File>),
    Gzip(flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>),
}

impl Output {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Plain(w) => w.write_all(bytes),
            Output::Gzip(w) => w.write_all(bytes),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        let mut inner = match self {
            Output::Plain(w) => w,
            Output::Gzip(w) => w.finish()?,
        };
        inner.flush()?;
        inner.get_ref().sync_all()
    }
}

fn open(path: &Path, gzip: bool) -> std::io::Result<Output> {
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    Ok(if gzip {
        Output::Gzip(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ))
    } else {
        Output::Plain(file)
    })
}

fn write_file(
    path: &Path,
    gzip: bool,
    body: impl FnOnce(&mut Output) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut output = open(path, gzip)?;
    body(&mut output)?;
    output.finish()
}

/// The dump by mongodump: connection flags in argv, the password (and a URI, which may hold
/// one) only in a 0600 `--config` file that is deleted afterwards.
fn mongodump(settings: &Settings, out: &Path) -> Result<DumpReport> {
    let dump = &settings.dump;
    let m = &settings.mongo;
    let program = crate::process::find_program(&dump.mongodump).ok_or_else(|| {
        Error::DumpFailed {
            path: out.to_path_buf(),
            message: format!("`{}` was not found", dump.mongodump.display()),
            hint: Some(
                "install the MongoDB Database Tools, or set `[dump] tool = \"native\"`, which needs nothing installed"
                    .into(),
            ),
        }
    })?;
    let failed = |message: String| Error::DumpFailed {
        path: out.to_path_buf(),
        message,
        hint: None,
    };
    let mut config = tempfile::Builder::new()
        .prefix("migo-mongodump-")
        .suffix(".yaml")
        .tempfile()
        .map_err(|e| failed(format!("cannot create the mongodump config file: {e}")))?;
    let mut secrets = String::new();
    if let Some(password) = &m.password {
        secrets.push_str(&format!("password: {}\n", json_string(password.expose())));
    }
    if let Some(uri) = &m.uri {
        secrets.push_str(&format!("uri: {}\n", json_string(uri)));
    }
    config
        .write_all(secrets.as_bytes())
        .and_then(|()| config.flush())
        .map_err(|e| failed(format!("cannot write the mongodump config file: {e}")))?;
    let mut args = vec![
        format!("--config={}", config.path().display()),
        format!("--db={}", m.database),
        format!("--out={}", out.display()),
    ];
    if m.uri.is_none() {
        args.push(format!("--host={}", m.host));
        args.push(format!("--port={}", m.port));
    }
    args.extend(m.user.as_ref().map(|u| format!("--username={u}")));
    let auth_source = m
        .auth_source
        .clone()
        .or(m.user.as_ref().map(|_| "admin".into()));
    args.extend(auth_source.map(|a| format!("--authenticationDatabase={a}")));
    if m.tls == Some(true) {
        args.push("--ssl".into());
    }
    args.extend(
        m.tls_ca_file
            .as_ref()
            .map(|f| format!("--sslCAFile={}", f.display())),
    );
    if m.tls_allow_invalid_certificates == Some(true) {
        args.push("--sslAllowInvalidCertificates".into());
    }
    if dump.gzip {
        args.push("--gzip".into());
    }
    let runs: Vec<Vec<String>> = if dump.collections.is_empty() {
        let exclude = excluded(settings)
            .into_iter()
            .map(|c| format!("--excludeCollection={c}"));
        vec![args.iter().cloned().chain(exclude).collect()]
    } else {
        dump.collections
            .iter()
            .map(|c| {
                args.iter()
                    .cloned()
                    .chain([format!("--collection={c}")])
                    .collect()
            })
            .collect()
    };
    for run in &runs {
        tracing::debug!("running {} {}", program.display(), run.join(" "));
        // mongodump reads the password from the config file only: not from migo's environment.
        let mut command = duct::cmd(&program, run).env_remove("MIGO_PASSWORD");
        if let Some(var) = &m.password_env {
            command = command.env_remove(var);
        }
        let output = command
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .run()
            .map_err(|e| failed(format!("cannot start `{}`: {e}", program.display())))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            return Err(failed(format!(
                "mongodump failed ({}): {last}",
                output.status
            )));
        }
    }
    drop(config); // deletes the file
    Ok(DumpReport {
        path: out.to_path_buf(),
        collections: if dump.collections.is_empty() {
            0
        } else {
            dump.collections.len()
        },
        documents: None,
        bytes: None,
        took: Duration::ZERO,
    })
}

/// A YAML-safe quoted string (JSON strings are YAML flow scalars).
fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// Removes all but the `keep` newest dumps of this environment; returns what it removed.
pub(crate) fn prune(settings: &Settings, keep: usize) -> Result<Vec<PathBuf>> {
    let prefix = format!("{}-", environment_label(settings));
    let dir = &settings.dump.directory;
    let io = |e| Error::Io {
        context: "cannot prune old dumps in",
        path: dir.clone(),
        source: e,
    };
    let mut dumps: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(std::result::Result::ok)
        .filter(|e| e.path().is_dir())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix(&prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .map(|e| e.path())
        .collect();
    // Timestamps sort as text, so the newest come last.
    dumps.sort();
    let old = dumps.len().saturating_sub(keep);
    let removed: Vec<PathBuf> = dumps.into_iter().take(old).collect();
    for path in &removed {
        std::fs::remove_dir_all(path).map_err(|e| Error::Io {
            context: "cannot remove the old dump",
            path: path.clone(),
            source: e,
        })?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_strings_are_quoted() {
        assert_eq!(json_string("p\"w: x"), r#""p\"w: x""#);
    }
}
