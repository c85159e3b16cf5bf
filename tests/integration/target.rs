//! The connection target is one unit: whichever layer (flag > `MIGO_*` > environment > base file)
//! names the server decides it whole, and the database is never borrowed from a lower layer's
//! connection string. Two real servers show where the writes went.

use std::sync::OnceLock;

use mongodb::bson::{doc, Document};

use crate::server::Server;
use crate::test::Test;

/// Two servers: A, which a lower layer names, and B, which a higher one does.
fn servers() -> &'static (Server, Server) {
    static TWO: OnceLock<(Server, Server)> = OnceLock::new();
    TWO.get_or_init(|| (Server::start(&[], None), Server::start(&[], None)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Base,
    Environment,
    Variable,
    Flag,
}

/// How `layer` names `server`, as a connection string or host and port: lines for the base
/// `[mongo]` and `[environments.e.mongo]`, variables, and flags.
#[derive(Default)]
struct Setting {
    base: String,
    environment: String,
    vars: Vec<(String, String)>,
    flags: Vec<String>,
}

fn name(setting: &mut Setting, layer: Layer, server: &Server, as_uri: bool) {
    let lines = match as_uri {
        true => format!("uri = \"{}\"\n", server.uri),
        false => format!("host = \"{}\"\nport = {}\n", server.host, server.port),
    };
    match (layer, as_uri) {
        (Layer::Base, _) => setting.base.push_str(&lines),
        (Layer::Environment, _) => setting.environment.push_str(&lines),
        (Layer::Variable, true) => setting.vars.push(("MIGO_URI".into(), server.uri.clone())),
        (Layer::Variable, false) => {
            setting.vars.push(("MIGO_HOST".into(), server.host.clone()));
            setting
                .vars
                .push(("MIGO_PORT".into(), server.port.to_string()));
        }
        (Layer::Flag, true) => setting.flags.extend(["--uri".into(), server.uri.clone()]),
        (Layer::Flag, false) => setting.flags.extend([
            "--host".into(),
            server.host.clone(),
            "--port".into(),
            server.port.to_string(),
        ]),
    }
}

/// A project with `setting` and one migration inserting `{_id: "x"}` into `items`.
fn project(setting: &Setting) -> Test {
    let t = Test::new();
    let config = format!(
        "[mongo]\ndatabase = \"{}\"\ntimeout_secs = 5\n{}\n[environments.e.mongo]\n{}",
        t.db_name, setting.base, setting.environment
    );
    t.raw_config(&config)
        .migration("0001_x.json", &crate::insert("x"))
}

fn items(server: &Server, db: &str) -> Vec<Document> {
    server
        .client()
        .database(db)
        .collection::<Document>("items")
        .find(doc! {})
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_highest_layer_naming_the_server_decides_the_whole_target() {
    let (a, b) = servers();
    let layers = [
        Layer::Base,
        Layer::Environment,
        Layer::Variable,
        Layer::Flag,
    ];
    for (i, low) in layers.iter().enumerate() {
        for high in &layers[i + 1..] {
            for low_is_uri in [true, false] {
                let mut setting = Setting::default();
                name(&mut setting, *low, a, low_is_uri);
                name(&mut setting, *high, b, !low_is_uri);
                let t = project(&setting);
                let mut args: Vec<&str> = setting.flags.iter().map(String::as_str).collect();
                args.extend(["--env", "e", "execute"]);
                let vars: Vec<(&str, &str)> = setting
                    .vars
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let case = format!("{low:?} (uri: {low_is_uri}) < {high:?}");
                let run = t.run_with(&args, &vars);
                run.success().stderr_has(&format!(
                    "e: database `{}` on {}:{}\n",
                    t.db_name, b.host, b.port
                ));
                assert_eq!(items(b, &t.db_name).len(), 1, "{case}: B got no write");
                assert!(items(a, &t.db_name).is_empty(), "{case}: A got the write");
            }
        }
    }
}

#[test]
fn uri_and_host_in_one_layer_is_an_error_naming_both() {
    let (a, _) = servers();
    let both = format!("uri = \"{}\"\nhost = \"{}\"\n", a.uri, a.host);
    let t = project(&Setting {
        base: both,
        ..Setting::default()
    });
    t.run(&["execute"])
        .code(3)
        .one_error_line()
        .stderr_has("migo.toml:4:7: `uri` and `host` (at migo.toml:5:8) both name the server");
    let t = project(&Setting::default());
    t.run_with(&["execute"], &[("MIGO_URI", &a.uri), ("MIGO_PORT", "1")])
        .code(3)
        .one_error_line()
        .stderr_has("error: MIGO_URI: `uri` and `port` (at MIGO_PORT) both name the server");
    t.run(&["--uri", &a.uri, "--host", "h", "execute"])
        .code(3)
        .one_error_line()
        .stderr_has("error: --uri: `uri` and `host` (at --host) both name the server");
    assert!(items(a, &t.db_name).is_empty());
}

#[test]
fn the_database_never_comes_from_a_lower_layers_connection_string() {
    let (a, b) = servers();
    // The base names the server and the database in its uri; the environment names another
    // server: the base uri's database must not follow it there.
    let t = Test::new();
    let config = format!(
        "[mongo]\nuri = \"{}/{}\"\n[environments.e.mongo]\nhost = \"{}\"\nport = {}\n",
        a.uri, t.db_name, b.host, b.port
    );
    let t = t
        .raw_config(&config)
        .migration("0001_x.json", &crate::insert("x"));
    t.run(&["--env", "e", "execute"])
        .code(3)
        .one_error_line()
        .stderr_has("missing `[mongo] database`");
    // A higher layer's uri path beats a lower layer's `database`.
    let t = Test::new();
    let config = format!(
        "[mongo]\ndatabase = \"elsewhere\"\n[environments.e.mongo]\nuri = \"{}/{}\"\n",
        b.uri, t.db_name
    );
    let t = t
        .raw_config(&config)
        .migration("0001_x.json", &crate::insert("x"));
    t.run(&["--env", "e", "execute"]).success();
    assert_eq!(items(b, &t.db_name).len(), 1);
    assert!(items(b, "elsewhere").is_empty());
}

#[test]
fn children_get_the_resolved_credentials_and_options_in_migo_uri() {
    let (a, _) = servers();
    let t = Test::new();
    let config = format!(
        "[mongo]\nuri = \"{}\"\ndatabase = \"{}\"\nuser = \"deploy\"\npassword_env = \"PW\"\ntimeout_secs = 7\n\n[tasks.show]\nrun = 'printf %s \"$MIGO_URI\" > uri.out'\n",
        a.uri, t.db_name
    );
    let t = t.raw_config(&config).env("PW", "p@ss/w0rd?");
    t.run(&["show"]).success().never_shows("p@ss/w0rd?");
    let uri = std::fs::read_to_string(t.path("uri.out")).unwrap();
    let expected = format!(
        "mongodb://deploy:p%40ss%2Fw0rd%3F@{}:{}/{}?",
        a.host, a.port, t.db_name
    );
    assert!(uri.starts_with(&expected), "{uri}");
    assert!(uri.contains("authSource=admin"), "{uri}");
    assert!(uri.contains("serverSelectionTimeoutMS=7000"), "{uri}");
}

/// `--port` (or `MIGO_PORT`) alone over the file's `host` and `port`: the host stays, only the
/// port changes; over a `uri` with one host, that host takes the port and the connection
/// string keeps everything else.
#[test]
fn a_port_alone_changes_only_the_port() {
    let (a, b) = servers();
    let port = b.port.to_string();
    for (server, over) in [
        (
            format!("host = \"{}\"\nport = {}\n", a.host, a.port),
            "flag",
        ),
        (
            format!("host = \"{}\"\nport = {}\n", a.host, a.port),
            "variable",
        ),
        (
            format!("uri = \"mongodb://{}:{}/?appName=kept\"\n", a.host, a.port),
            "flag",
        ),
        (
            format!("uri = \"mongodb://{}:{}/?appName=kept\"\n", a.host, a.port),
            "variable",
        ),
    ] {
        let t = Test::new();
        let config = format!(
            "[mongo]\n{server}database = \"{}\"\ntimeout_secs = 5\n\n[tasks.show]\nrun = 'printf %s \"$MIGO_URI\" > uri.out'\n",
            t.db_name
        );
        let t = t
            .raw_config(&config)
            .migration("0001_x.json", &crate::insert("x"));
        let (args, vars): (Vec<&str>, Vec<(&str, &str)>) = match over {
            "flag" => (vec!["--port", &port], vec![]),
            _ => (vec![], vec![("MIGO_PORT", &port)]),
        };
        let run = |command: &str| {
            let mut all = args.clone();
            all.push(command);
            t.run_with(&all, &vars)
        };
        run("execute").success().stderr_has(&format!(
            "default: database `{}` on {}:{}\n",
            t.db_name, a.host, b.port
        ));
        let case = format!("{over} over {server}");
        assert_eq!(items(b, &t.db_name).len(), 1, "{case}: B got no write");
        assert!(items(a, &t.db_name).is_empty(), "{case}: A got the write");
        run("show").success();
        let uri = std::fs::read_to_string(t.path("uri.out")).unwrap();
        let prefix = format!("mongodb://{}:{}/{}?", a.host, b.port, t.db_name);
        assert!(uri.starts_with(&prefix), "{case}: {uri}");
        assert_eq!(
            uri.contains("appName=kept"),
            server.starts_with("uri"),
            "{case}: {uri}"
        );
    }
}

#[test]
fn a_port_alone_over_a_uri_of_several_hosts_or_srv_is_an_error_naming_both() {
    let (a, b) = servers();
    let t = Test::new();
    let db_name = t.db_name.clone();
    let config = |uri: &str| {
        format!("[mongo]\nuri = \"{uri}\"\ndatabase = \"{db_name}\"\ntimeout_secs = 5\n")
    };
    let several = format!(
        "mongodb://{}:{},{}:{}/?appName=kept",
        a.host, a.port, b.host, b.port
    );
    let t = t
        .raw_config(&config(&several))
        .migration("0001_x.json", &crate::insert("x"));
    t.run(&["--port", "27018", "execute"])
        .code(3)
        .stdout_is("")
        .stderr_is(&format!(
            "error: --port: cannot apply to the connection string at migo.toml:2:7, which names \
             several hosts ({}:{},{}:{}); hint: give the whole server: a connection string in \
             place of migo.toml:2:7, or both a host and a port (`--port` alone cannot say which \
             host it changes)\n",
            a.host, a.port, b.host, b.port
        ));
    let t = t.raw_config(&config("mongodb+srv://cluster0.example.invalid/"));
    t.run_with(&["execute"], &[("MIGO_PORT", "27018")])
        .code(3)
        .stdout_is("")
        .stderr_is(
            "error: MIGO_PORT: cannot apply to the connection string at migo.toml:2:7, which is \
             an SRV name (`mongodb+srv://`); hint: give the whole server as a connection string \
             in place of migo.toml:2:7\n",
        );
    // Host and port together name one server whole: the list gives way, the options stay.
    let t = t.raw_config(&config(&several));
    t.run(&["--host", &b.host, "--port", &b.port.to_string(), "execute"])
        .success()
        .stderr_has(&format!(
            "default: database `{}` on {}:{}\n",
            t.db_name, b.host, b.port
        ));
    assert_eq!(items(b, &t.db_name).len(), 1);
    assert!(items(a, &t.db_name).is_empty());
}
