//! The scenario builder: a temp project (migo.toml + migration files) with its own database,
//! the real `migo` binary run in it, and assertions that print the whole run when they fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use mongodb::bson::{doc, Document};
use mongodb::sync::Database;

use crate::server::{self, Server};

/// The lock document's `_id` in the registry collection.
pub(crate) const LOCK_ID: &str = "__migo_lock__";

/// Creates `db` on its server with one seed document, so that `listDatabases` shows it.
pub(crate) fn seed(db: &Database) {
    db.collection::<Document>("seed")
        .insert_one(doc! {"_id": "seed"})
        .run()
        .expect("seed a database");
}

/// One scenario: a project directory and a database of its own.
pub struct Test {
    dir: tempfile::TempDir,
    pub db_name: String,
    pub server: &'static Server,
    env: Vec<(String, String)>,
}

impl Test {
    /// A project whose migo.toml points at the shared server and a fresh database.
    pub fn new() -> Test {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let thread = std::thread::current();
        let test_name = thread
            .name()
            .unwrap_or("test")
            .rsplit("::")
            .next()
            .unwrap_or("test");
        let mut db_name: String = format!(
            "t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            test_name
        );
        db_name.truncate(60);
        let test = Test {
            dir: tempfile::tempdir().expect("temp dir"),
            db_name,
            server: server::shared(),
            env: Vec::new(),
        };
        std::fs::create_dir(test.path("mongomigrations")).expect("mongomigrations");
        test.config("")
    }

    /// The same project on a server of its own (one a test stops and restarts), its migo.toml
    /// rewritten to point there.
    pub fn on(mut self, server: &'static Server) -> Test {
        self.server = server;
        self.config("")
    }

    /// Rewrites migo.toml as the default `[mongo]` section followed by `extra`.
    pub fn config(self, extra: &str) -> Test {
        let text = format!("{}\n{extra}", self.mongo_section());
        self.raw_config(&text)
    }

    /// The default `[mongo]` section: the test server, this test's database, a short timeout.
    pub fn mongo_section(&self) -> String {
        format!(
            "[mongo]\nuri = \"{}\"\ndatabase = \"{}\"\ntimeout_secs = 5\n",
            self.server.uri, self.db_name
        )
    }

    /// Writes migo.toml exactly as given.
    pub fn raw_config(self, text: &str) -> Test {
        self.file("migo.toml", text)
    }

    /// Writes a migration file into `mongomigrations/`.
    pub fn migration(self, file_name: &str, body: &str) -> Test {
        self.file(&format!("mongomigrations/{file_name}"), body)
    }

    /// Writes an executable script migration into `mongomigrations/`.
    pub fn script(self, file_name: &str, body: &str) -> Test {
        use std::os::unix::fs::PermissionsExt;
        let t = self.migration(file_name, body);
        let path = t.path(&format!("mongomigrations/{file_name}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        t
    }

    /// Writes any file, relative to the project directory.
    pub fn file(self, relative: &str, content: &str) -> Test {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
        self
    }

    /// Sets an environment variable for every run.
    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    /// A path inside the project.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `migo` command for this project.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_migo"));
        command.args(args);
        self.inside(&mut command);
        command
    }

    /// Runs `command` in the project, with this test's variables and no inherited `MIGO_*` ones.
    pub fn inside(&self, command: &mut Command) {
        command.current_dir(self.dir.path());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("MIGO_") || k == "NO_COLOR")
        {
            command.env_remove(key);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
    }

    /// Runs `migo ARGS` with the extra environment `vars`.
    pub fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        command.envs(vars.iter().copied());
        Run::of(command)
    }

    /// Starts `migo ARGS` in the background with the extra environment `vars`, its output piped.
    pub(crate) fn spawn(&self, args: &[&str], vars: &[(&str, &str)]) -> std::process::Child {
        self.command(args)
            .envs(vars.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn migo")
    }

    /// A short name unique to this test (`t_<pid>_<n>`), for databases of its own beside
    /// [`Test::db_name`] (fleet members, say).
    pub(crate) fn short_name(&self) -> String {
        self.db_name
            .splitn(4, '_')
            .take(3)
            .collect::<Vec<_>>()
            .join("_")
    }

    /// Creates database `name` on this test's server (one seed document), so that
    /// `listDatabases` shows it.
    pub(crate) fn seed_database(&self, name: &str) {
        seed(&self.server.client().database(name));
    }

    /// Runs `migo ARGS` in the project and captures everything.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command(args))
    }

    /// This test's database, for assertions.
    pub fn db(&self) -> Database {
        self.server.client().database(&self.db_name)
    }

    /// The registry documents, by number.
    pub fn records(&self) -> Vec<Document> {
        let cursor = self
            .db()
            .collection::<Document>("migrations")
            .find(doc! {"_id": {"$ne": LOCK_ID}})
            .sort(doc! {"number": 1})
            .run();
        cursor
            .expect("registry")
            .map(|d| d.expect("record"))
            .collect()
    }

    /// `(name, status)` of every registry document, by number.
    pub fn statuses(&self) -> Vec<(String, String)> {
        self.records()
            .iter()
            .map(|r| {
                (
                    r.get_str("name").unwrap().to_string(),
                    r.get_str("status").unwrap().to_string(),
                )
            })
            .collect()
    }

    /// How migo names this test's target: `default: database `t_…` on 127.0.0.1:PORT`.
    pub(crate) fn target(&self) -> String {
        format!(
            "default: database `{}` on {}:{}",
            self.db_name, self.server.host, self.server.port
        )
    }

    /// The lock document, if the lock is held (a released lock keeps its document, with a null
    /// token).
    pub(crate) fn lock(&self) -> Option<Document> {
        self.db()
            .collection::<Document>("migrations")
            .find_one(doc! {"_id": LOCK_ID})
            .run()
            .expect("lock")
            .filter(|lock| lock.get_str("token").is_ok())
    }

    /// Puts `lock` (its `_id` set to the lock's) in the registry collection, as another run would.
    pub(crate) fn hold_lock(&self, mut lock: Document) {
        lock.insert("_id", LOCK_ID);
        self.db()
            .collection::<Document>("migrations")
            .replace_one(doc! {"_id": LOCK_ID}, lock)
            .upsert(true)
            .run()
            .expect("put the lock");
    }

    /// All documents of a collection, by `_id`.
    pub fn docs(&self, collection: &str) -> Vec<Document> {
        let cursor = self
            .db()
            .collection::<Document>(collection)
            .find(doc! {})
            .sort(doc! {"_id": 1})
            .run();
        cursor.expect("find").map(|d| d.expect("doc")).collect()
    }

    /// Everything in this test's database, byte for byte: every collection's options, indexes
    /// and documents (canonical Extended JSON, by `_id`).
    pub fn snapshot(&self) -> String {
        self.snapshot_without(&[])
    }

    /// [`Test::snapshot`] of every collection but those in `skip`.
    pub fn snapshot_without(&self, skip: &[&str]) -> String {
        let db = self.db();
        let mut out = String::new();
        for name in self.collections() {
            if skip.contains(&name.as_str()) {
                continue;
            }
            let info = db
                .run_command(doc! {"listCollections": 1, "filter": {"name": &name}})
                .run()
                .expect("listCollections");
            let batch = info.get_document("cursor").unwrap().get_array("firstBatch");
            out.push_str(&format!("collection {name}: {batch:?}\n"));
            let indexes = db
                .collection::<Document>(&name)
                .list_indexes()
                .run()
                .expect("indexes");
            for index in indexes {
                out.push_str(&format!("  index {:?}\n", index.expect("index")));
            }
            for document in self.docs(&name) {
                let json = mongodb::bson::Bson::Document(document).into_canonical_extjson();
                out.push_str(&format!("  {json}\n"));
            }
        }
        out
    }

    /// Names of the collections in this test's database, sorted.
    pub fn collections(&self) -> Vec<String> {
        let mut names = self
            .db()
            .list_collection_names()
            .run()
            .expect("collections");
        names.sort();
        names
    }
}

impl Drop for Test {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "kept database `{}` on {} for inspection",
                self.db_name, self.server.uri
            );
            eprintln!("kept project {}", self.dir.path().display());
            self.dir.disable_cleanup(true);
        } else {
            let _ = self.db().drop().run();
        }
    }
}

/// A finished run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    described: String,
}

impl Run {
    /// Runs `command` to completion.
    pub fn of(mut command: Command) -> Run {
        let described = format!(
            "command: {:?}\ncwd: {:?}",
            command,
            command
                .get_current_dir()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        );
        let output = command.output().expect("run migo");
        Run {
            described,
            ..Run::from_output(&output)
        }
    }

    /// A run that was started and waited for elsewhere.
    pub fn from_output(output: &std::process::Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            described: String::new(),
        }
    }

    /// Runs `command` to completion, but kills it and fails after `limit`: a run that hangs is
    /// a failure, not a test that never ends.
    #[track_caller]
    pub fn within(mut command: Command, limit: std::time::Duration) -> Run {
        use std::io::Read;
        let described = format!("command: {command:?}");
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run migo");
        let drain = |mut stream: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                let _ = stream.read_to_end(&mut text);
                String::from_utf8_lossy(&text).into_owned()
            })
        };
        let stdout = drain(Box::new(child.stdout.take().expect("piped")));
        let stderr = drain(Box::new(child.stderr.take().expect("piped")));
        let deadline = std::time::Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for migo") {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let run = Run {
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
            described,
        };
        if status.is_none() {
            run.fail(&format!("migo did not finish within {limit:?}"));
        }
        run
    }

    #[track_caller]
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n{}\nexit code: {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.described, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn success(&self) -> &Run {
        self.code(0)
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        if self.code != expected {
            self.fail(&format!("expected exit code {expected}"));
        }
        self
    }

    /// Asserts stdout contains `text`.
    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Run {
        if !self.stdout.contains(text) {
            self.fail(&format!("stdout lacks {text:?}"));
        }
        self
    }

    /// Asserts stderr contains `text`.
    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Run {
        if !self.stderr.contains(text) {
            self.fail(&format!("stderr lacks {text:?}"));
        }
        self
    }

    /// Asserts stdout is exactly `text`.
    #[track_caller]
    pub fn stdout_is(&self, text: &str) -> &Run {
        if self.stdout != text {
            self.fail(&format!("stdout differs:\n{}", diff(text, &self.stdout)));
        }
        self
    }

    /// Asserts stderr is exactly `text`.
    #[track_caller]
    pub fn stderr_is(&self, text: &str) -> &Run {
        if self.stderr != text {
            self.fail(&format!("stderr differs:\n{}", diff(text, &self.stderr)));
        }
        self
    }

    /// stdout with what varies from run to run masked (see [`masked`]).
    pub fn stdout_masked(&self) -> String {
        masked(&self.stdout)
    }

    /// stderr with what varies from run to run masked (see [`masked`]).
    pub fn stderr_masked(&self) -> String {
        masked(&self.stderr)
    }

    /// Asserts stdout is exactly `text` once durations and times are masked (see [`masked`]).
    #[track_caller]
    pub fn stdout_masked_is(&self, text: &str) -> &Run {
        let got = self.stdout_masked();
        if got != text {
            self.fail(&format!("masked stdout differs:\n{}", diff(text, &got)));
        }
        self
    }

    /// Asserts stderr is exactly `text` once durations and times are masked (see [`masked`]).
    #[track_caller]
    pub fn stderr_masked_is(&self, text: &str) -> &Run {
        let got = self.stderr_masked();
        if got != text {
            self.fail(&format!("masked stderr differs:\n{}", diff(text, &got)));
        }
        self
    }

    /// This run with the lines of fleet members (`[NAME] …`) grouped by member, each member's
    /// lines in their order (see [`by_member`]).
    pub(crate) fn by_member(&self) -> Run {
        Run {
            code: self.code,
            stdout: by_member(&self.stdout),
            stderr: by_member(&self.stderr),
            described: self.described.clone(),
        }
    }

    /// Asserts stderr is one `error:` line with a hint.
    #[track_caller]
    pub fn one_error_line(&self) -> &Run {
        let lines: Vec<&str> = self.stderr.lines().collect();
        if lines.len() != 1 || !lines[0].starts_with("error: ") || !lines[0].contains("; hint: ") {
            self.fail("expected exactly one `error: …; hint: …` line on stderr");
        }
        self
    }

    /// Asserts stderr ends with one `error: …; hint: …` line, after notes such as the target
    /// line or a script's output, and holds no other error line.
    #[track_caller]
    pub(crate) fn error_line(&self) -> &Run {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let errors = lines.iter().filter(|l| l.starts_with("error: ")).count();
        let last_ok = lines
            .last()
            .is_some_and(|l| l.starts_with("error: ") && l.contains("; hint: "));
        if errors != 1 || !last_ok {
            self.fail("expected stderr to end with its only `error: …; hint: …` line");
        }
        self
    }

    /// Asserts neither stream contains `secret`.
    #[track_caller]
    pub fn never_shows(&self, secret: &str) -> &Run {
        if self.stdout.contains(secret) || self.stderr.contains(secret) {
            self.fail(&format!("output shows the secret {secret:?}"));
        }
        self
    }
}

/// Who migo records as running it on this machine (`user@host`), as the registry, the lock and
/// the audit log show it.
pub(crate) fn who() -> String {
    let host = whoami::fallible::hostname().unwrap_or_else(|_| "unknown-host".into());
    format!("{}@{host}", whoami::username())
}

/// `at` as `list` writes a time: `2026-11-21 23:59:42Z` (UTC, to the second).
pub(crate) fn readable(at: mongodb::bson::DateTime) -> String {
    let text = at.try_to_rfc3339_string().expect("a time");
    format!("{}Z", text[..19].replace('T', " "))
}

/// `text` with the values that change from run to run replaced by placeholders, so that output
/// compares exactly: durations as migo writes them (`12ms`, `1.2s`, `2m05s`) become `<dur>`,
/// times (`2026-11-21 23:59:42Z`, RFC 3339 `2026-11-21T23:59:42.123Z`) become `<time>`, the
/// compact UTC stamp of a dump's directory (`default-20261121T235942.123Z`) becomes `<stamp>`, a
/// JSON document's `"duration_ms":12` becomes `"duration_ms":<ms>`, and this machine's
/// `user@host` becomes `<who>`.
///
/// An aligned table (a header line of upper-case titles two spaces apart, then the rows whose
/// cells start under the titles) is cut into its cells, masked cell by cell and aligned again
/// as migo aligns it, so that a column keeps its shape whatever the width of what it masks.
pub(crate) fn masked(text: &str) -> String {
    let mut out = String::new();
    let mut table: Option<Table> = None;
    for line in text.split_inclusive('\n') {
        let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        if let Some(t) = &mut table {
            if t.takes(body) {
                t.rows.push(t.cells(body));
                continue;
            }
            out.push_str(&table.take().expect("a table").render());
        }
        if let Some(t) = Table::header(body) {
            table = Some(t);
            continue;
        }
        out.push_str(&mask_values(body));
        out.push_str(end);
    }
    if let Some(t) = table {
        let rendered = t.render();
        if text.ends_with('\n') {
            out.push_str(&rendered);
        } else {
            out.push_str(rendered.strip_suffix('\n').unwrap_or(&rendered));
        }
    }
    out
}

/// `text` with each run of fleet members' lines (`[NAME] …`) grouped by member, in the order of
/// their names, each member's lines in the order it wrote them: members run at once, so their
/// lines interleave differently from run to run, while each member's own lines do not.
pub(crate) fn by_member(text: &str) -> String {
    let member = |line: &str| {
        line.strip_prefix('[')
            .and_then(|rest| rest.split_once("] "))
            .map(|(name, _)| name.to_string())
    };
    let mut out: Vec<&str> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in text.split_inclusive('\n') {
        if member(line).is_some() {
            block.push(line);
            continue;
        }
        block.sort_by_key(|l| member(l));
        out.append(&mut block);
        out.push(line);
    }
    block.sort_by_key(|l| member(l));
    out.append(&mut block);
    out.concat()
}

/// Durations, times and this machine's `user@host` in `text`, replaced by placeholders.
fn mask_values(text: &str) -> String {
    static VOLATILE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let volatile = VOLATILE.get_or_init(|| {
        regex::Regex::new(
            r#"(?x)
            (?P<time>\b\d{4}-\d{2}-\d{2}[T\ ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?)
            | (?P<stamp>\b\d{8}T\d{6}(?:\.\d+)?Z)
            | (?P<dur>\b(?:\d+ms|\d+\.\d+s|\d+m\d{2}s)\b)
            | (?P<ms>"duration_ms":\ ?)\d+"#,
        )
        .expect("the mask's regex")
    });
    let text = volatile.replace_all(text, |c: &regex::Captures| {
        if c.name("time").is_some() {
            "<time>".to_string()
        } else if c.name("stamp").is_some() {
            "<stamp>".to_string()
        } else if let Some(key) = c.name("ms") {
            format!("{}<ms>", key.as_str())
        } else {
            "<dur>".to_string()
        }
    });
    text.replace(&who(), "<who>")
}

/// The titles of `list`'s table, for [`aligned`].
pub(crate) const LIST_TITLES: &[&str] = &[
    "NUMBER",
    "NAME",
    "STATE",
    "APPLIED AT",
    "BY",
    "DURATION",
    "CHECKSUM",
];

/// `rows` (the titles first) aligned as migo aligns a table and as [`masked`] gives one back:
/// each column as wide as its widest cell, two spaces between columns, no spaces at the end of
/// a line. A row may leave out its empty cells at the end.
pub(crate) fn aligned(rows: &[&[&str]]) -> String {
    let columns = rows.iter().map(|row| row.len()).max().unwrap_or(0);
    let cells = |row: &[&str]| -> Vec<String> {
        (0..columns)
            .map(|i| row.get(i).map_or(String::new(), |c| c.to_string()))
            .collect()
    };
    Table {
        titles: cells(rows[0]),
        starts: Vec::new(),
        rows: rows[1..].iter().map(|row| cells(row)).collect(),
    }
    .render()
}

/// An aligned table met by [`masked`]: where its columns start, and its rows' cells.
struct Table {
    titles: Vec<String>,
    starts: Vec<usize>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A header line: two or more upper-case titles, two or more spaces apart.
    fn header(line: &str) -> Option<Table> {
        static TITLE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let title = TITLE.get_or_init(|| {
            regex::Regex::new(r"[A-Z][A-Z_()]*(?: [A-Z][A-Z_()]*)*").expect("the title regex")
        });
        let chars: Vec<char> = line.chars().collect();
        let (mut titles, mut starts) = (Vec::new(), Vec::new());
        let mut at = 0;
        while at < chars.len() {
            let rest: String = chars[at..].iter().collect();
            let found = title.find(&rest).filter(|m| m.start() == 0)?;
            let taken = found.as_str().chars().count();
            titles.push(found.as_str().to_string());
            starts.push(at);
            at += taken;
            let gap = chars[at..].iter().take_while(|c| **c == ' ').count();
            if at + gap < chars.len() && gap < 2 {
                return None;
            }
            at += gap;
        }
        (titles.len() >= 2).then_some(Table {
            titles,
            starts,
            rows: Vec::new(),
        })
    }

    /// Whether `line` is a row: two spaces (or its end) before every column it reaches.
    fn takes(&self, line: &str) -> bool {
        let chars: Vec<char> = line.chars().collect();
        !line.trim().is_empty()
            && self.starts[1..].iter().all(|&start| {
                start > chars.len() || (chars[start - 2] == ' ' && chars[start - 1] == ' ')
            })
    }

    /// `line` cut into its cells, each masked.
    fn cells(&self, line: &str) -> Vec<String> {
        let chars: Vec<char> = line.chars().collect();
        let ends = self.starts[1..].iter().copied().chain([usize::MAX]);
        self.starts
            .iter()
            .zip(ends)
            .map(|(&start, end)| {
                let cell: String = chars
                    .iter()
                    .skip(start)
                    .take(end.saturating_sub(start))
                    .collect();
                mask_values(cell.trim_end())
            })
            .collect()
    }

    /// The table aligned as migo aligns one: each column as wide as its widest cell, two spaces
    /// between columns, no spaces at the end of a line.
    fn render(&self) -> String {
        let width = |i: usize| {
            self.rows
                .iter()
                .map(|row| row[i].chars().count())
                .chain([self.titles[i].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.titles.len()).map(width).collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        let mut out = line(&self.titles);
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// A line-by-line comparison: `  ` same, `- ` expected only, `+ ` got only, and the first
/// differing line shown with its escapes (so a stray space or `\r` is visible).
fn diff(expected: &str, got: &str) -> String {
    let (want, have): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
    let mut out = String::new();
    for i in 0..want.len().max(have.len()) {
        match (want.get(i), have.get(i)) {
            (Some(w), Some(h)) if w == h => out.push_str(&format!("  {w}\n")),
            (w, h) => {
                if let Some(w) = w {
                    out.push_str(&format!("- {w:?}\n"));
                }
                if let Some(h) = h {
                    out.push_str(&format!("+ {h:?}\n"));
                }
            }
        }
    }
    if expected.ends_with('\n') != got.ends_with('\n') {
        out.push_str("(the final newline differs)\n");
    }
    out
}

#[test]
fn masked_values_keep_a_table_in_shape() {
    let me = who();
    let table = format!(
        "NUMBER  NAME  STATE    APPLIED AT            BY{pad}  DURATION  CHECKSUM\n\
         1       1_a   applied  2026-11-18 11:06:41Z  {me}  12ms      ok\n\
         2       2_b   pending\n\
         2 migrations: 1 applied, 1 pending in 1.2s at 2026-11-18T11:06:41.123Z\n\
         {{\"duration_ms\":1234,\"who\":\"{me}\"}}\n",
        pad = " ".repeat(me.len() - 2)
    );
    assert_eq!(
        masked(&table),
        "NUMBER  NAME  STATE    APPLIED AT  BY     DURATION  CHECKSUM\n\
         1       1_a   applied  <time>      <who>  <dur>     ok\n\
         2       2_b   pending\n\
         2 migrations: 1 applied, 1 pending in <dur> at <time>\n\
         {\"duration_ms\":<ms>,\"who\":\"<who>\"}\n"
    );
}
