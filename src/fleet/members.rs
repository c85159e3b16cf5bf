//! Who is in the fleet: on each cluster (an environment's deployment), the databases that
//! `[fleet] databases` or `--databases` selects, each with the settings of a run on it alone.

use mongodb::error::ErrorKind;
use regex::Regex;

use crate::config::{Selector, Settings, Target};
use crate::error::{Error, Result};
use crate::store::connection;

/// One database of the fleet.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// `tenant_7`, or `eu/tenant_7` when the fleet spans environments.
    pub(crate) name: String,
    /// Which cluster it is on (an index into the fleet's clusters).
    pub(crate) cluster: usize,
    /// The flags that select this database alone: `--database tenant_7`, with `--env eu` when
    /// the fleet spans environments.
    pub(crate) flags: String,
    /// The settings of a run on this database alone: its own registry, lock, audit log and
    /// dump directory (`<dump directory>/<database>/`).
    pub(crate) settings: Settings,
}

/// The members on `clusters`, in cluster order, then by name. With a pattern, each cluster's
/// server is asked for its databases (one `listDatabases`); migo's own and the system databases
/// are never members.
pub(crate) async fn members(
    clusters: &[Settings],
    selector: &Selector,
    exclude: &[String],
) -> Result<Vec<Member>> {
    let spans = clusters.len() > 1;
    let mut members = Vec::new();
    for (index, cluster) in clusters.iter().enumerate() {
        let mut names = match selector {
            Selector::List(names) => names.clone(),
            Selector::Pattern(pattern) => matching(cluster, pattern).await?,
        };
        names.retain(|n| !is_reserved(n) && !exclude.contains(n));
        names.sort_by_cached_key(|n| natural(n));
        names.dedup();
        members.extend(names.into_iter().map(|database| {
            let mut settings = cluster.clone();
            settings.target = cluster.target.with_database(&database);
            settings.dump.directory = cluster.dump.directory.join(&database);
            let (name, flags) = match (spans, cluster.environment()) {
                (true, Some(env)) => (
                    format!("{env}/{database}"),
                    format!("--env {env} --database {database}"),
                ),
                _ => (database.clone(), format!("--database {database}")),
            };
            Member {
                name,
                cluster: index,
                flags,
                settings,
            }
        }));
    }
    if members.is_empty() {
        return Err(Error::Usage {
            message: "the fleet has no databases: none matches on the server".into(),
            hint: Some(
                "check `[fleet] databases` (or `--databases`); `migo --fleet list` lists the \
                 members it finds"
                    .into(),
            ),
        });
    }
    Ok(members)
}

/// The databases on `cluster`'s server whose name matches `pattern`.
async fn matching(cluster: &Settings, pattern: &Regex) -> Result<Vec<String>> {
    let target = &cluster.target;
    let db = connection::open(target).await?;
    let names = db
        .client()
        .list_database_names()
        .authorized_databases(true)
        .await
        .map_err(|e| match e.kind.as_ref() {
            ErrorKind::Command(c) if c.code == UNAUTHORIZED => not_allowed_to_list(target),
            _ => {
                let context = format!("cannot list the databases on {}", target.hosts());
                connection::classify(target, Error::database(context)(e))
            }
        })?;
    Ok(names.into_iter().filter(|n| pattern.is_match(n)).collect())
}

/// The server's `Unauthorized`.
const UNAUTHORIZED: i32 = 13;

/// A user who may not list the databases cannot have a fleet found by a pattern: say what to
/// grant, or how to name the databases instead.
fn not_allowed_to_list(target: &Target) -> Error {
    let user = target.user().unwrap_or("(no user)");
    Error::Config {
        location: "[fleet] databases".into(),
        message: format!(
            "user `{user}` may not list the databases on {}, so a pattern cannot find the \
             fleet",
            target.hosts()
        ),
        hint: Some(
            "grant it the `listDatabases` action (the `clusterMonitor` role has it), or name the \
             databases: `databases = [\"tenant_a\", \"tenant_b\"]`"
                .into(),
        ),
    }
}

/// A sort key that orders numbers by value: `tenant_2` before `tenant_10`.
fn natural(name: &str) -> Vec<(String, u128)> {
    let mut key = Vec::new();
    let mut rest = name;
    while !rest.is_empty() {
        let text_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (text, tail) = rest.split_at(text_end);
        let digits_end = tail
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (digits, tail) = tail.split_at(digits_end);
        key.push((text.to_string(), digits.parse().unwrap_or(u128::MAX)));
        rest = tail;
    }
    key
}

/// The server's own databases, and the scratch databases of `migo test`, `drift`, `snapshot`
/// and `squash`.
fn is_reserved(name: &str) -> bool {
    static SCRATCH: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let scratch = SCRATCH.get_or_init(|| Regex::new(r"_migo_[tbucr][0-9]+$").expect("valid"));
    matches!(name, "admin" | "local" | "config") || scratch.is_match(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_by_value() {
        let mut names = vec!["t_10", "t_2", "t_1", "u", "t_02x", "t"];
        names.sort_by_cached_key(|n| natural(n));
        assert_eq!(names, ["t", "t_1", "t_2", "t_02x", "t_10", "u"]);
    }

    #[test]
    fn system_and_scratch_databases_are_never_members() {
        for name in [
            "admin",
            "local",
            "config",
            "tenant_1_migo_t4242",
            "app_migo_u7",
            "tenant_2_migo_r99",
            "app_migo_c12",
        ] {
            assert!(is_reserved(name), "{name}");
        }
        for name in ["tenant_1", "migo", "admin_users", "tenant_migo_x1"] {
            assert!(!is_reserved(name), "{name}");
        }
    }
}
