//! The rule table: every lint rule with its stable id, its default severity, the one-line reason
//! it exists and the fix. docs/lint.md lists the same rules with an example each (a test keeps
//! the two in step).

use crate::config::lint::Severity;

/// A lint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Rule {
    UniqueIndexExisting,
    IndexWithoutName,
    IndexInTransaction,
    ValidatorBeforeBackfill,
    DropCollection,
    DropDatabase,
    RenameCollection,
    RenameField,
    UnsetField,
    UpdateEmptyFilter,
    DeleteEmptyFilter,
    DataInTransaction,
    MissingDown,
    DropIndexUnhidden,
    LintAllow,
}

impl Rule {
    /// Every rule, in the order docs/lint.md lists them.
    pub(crate) const ALL: [Rule; 15] = [
        Rule::UniqueIndexExisting,
        Rule::IndexWithoutName,
        Rule::IndexInTransaction,
        Rule::ValidatorBeforeBackfill,
        Rule::DropCollection,
        Rule::DropDatabase,
        Rule::RenameCollection,
        Rule::RenameField,
        Rule::UnsetField,
        Rule::UpdateEmptyFilter,
        Rule::DeleteEmptyFilter,
        Rule::DataInTransaction,
        Rule::MissingDown,
        Rule::DropIndexUnhidden,
        Rule::LintAllow,
    ];

    /// The stable id: in `[lint]`, in suppressions, in every output.
    pub(crate) fn id(self) -> &'static str {
        match self {
            Rule::UniqueIndexExisting => "unique-index-existing",
            Rule::IndexWithoutName => "index-without-name",
            Rule::IndexInTransaction => "index-in-transaction",
            Rule::ValidatorBeforeBackfill => "validator-before-backfill",
            Rule::DropCollection => "drop-collection",
            Rule::DropDatabase => "drop-database",
            Rule::RenameCollection => "rename-collection",
            Rule::RenameField => "rename-field",
            Rule::UnsetField => "unset-field",
            Rule::UpdateEmptyFilter => "update-empty-filter",
            Rule::DeleteEmptyFilter => "delete-empty-filter",
            Rule::DataInTransaction => "data-in-transaction",
            Rule::MissingDown => "missing-down",
            Rule::DropIndexUnhidden => "drop-index-unhidden",
            Rule::LintAllow => "lint-allow",
        }
    }

    /// The rule with id `id`.
    pub(crate) fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// Its severity unless `[lint]` says otherwise.
    pub(crate) fn default_severity(self) -> Severity {
        match self {
            Rule::IndexInTransaction
            | Rule::ValidatorBeforeBackfill
            | Rule::DropCollection
            | Rule::DropDatabase
            | Rule::RenameCollection
            | Rule::DeleteEmptyFilter
            | Rule::LintAllow => Severity::Error,
            Rule::UniqueIndexExisting
            | Rule::IndexWithoutName
            | Rule::RenameField
            | Rule::UnsetField
            | Rule::UpdateEmptyFilter
            | Rule::DataInTransaction
            | Rule::MissingDown
            | Rule::DropIndexUnhidden => Severity::Warning,
        }
    }

    /// Why the rule exists, in one line.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Rule::UniqueIndexExisting => {
                "documents already there that share a key make the build fail part way through \
                 the deploy"
            }
            Rule::IndexWithoutName => {
                "a generated name clashes with an existing index of that name and other options \
                 (IndexOptionsConflict), and `down` cannot name it"
            }
            Rule::IndexInTransaction => {
                "the server builds no index on an existing collection inside a transaction \
                 (OperationNotSupportedInTransaction)"
            }
            Rule::ValidatorBeforeBackfill => {
                "until the backfill has run, every write to a document without the field is \
                 rejected, the running application's included"
            }
            Rule::DropCollection => {
                "the collection and its data are gone, while the code still deployed reads and \
                 writes it"
            }
            Rule::DropDatabase => "every collection goes, migo's registry included",
            Rule::RenameCollection => {
                "the code still deployed reads the old name, and its writes there recreate an \
                 empty collection"
            }
            Rule::RenameField => "the code still deployed reads the old name",
            Rule::UnsetField => "the code still deployed may read it",
            Rule::UpdateEmptyFilter => {
                "every document is rewritten, values already there (new code's too) are \
                 overwritten, and a rerun does it all again"
            }
            Rule::DeleteEmptyFilter => "every document of the collection is deleted",
            Rule::DataInTransaction => {
                "a transaction must end within the server's limits (60 s by default, the cache \
                 it may dirty), so the step aborts once the collection grows (migrate-mongo \
                 #360)"
            }
            Rule::MissingDown => "`migo rollback` refuses a migration without `down`",
            Rule::DropIndexUnhidden => {
                "queries that still use the index turn into collection scans at once, and \
                 rebuilding it takes as long as building it"
            }
            Rule::LintAllow => "an exemption must name a rule and say why",
        }
    }

    /// How to fix it.
    pub(crate) fn fix(self) -> &'static str {
        match self {
            Rule::UniqueIndexExisting => {
                "run `migo preflight` on the target (execute runs it too and refuses over \
                 duplicates); remove or merge duplicates in an earlier migration"
            }
            Rule::IndexWithoutName => "give the index a `name`",
            Rule::IndexInTransaction => "build the index in a migration without a transaction",
            Rule::ValidatorBeforeBackfill => {
                "add the validator with `validationAction: \"warn\"` (or `validationLevel: \
                 \"moderate\"`), backfill, and make it strict in a later release"
            }
            Rule::DropCollection => {
                "drop it in a later release, once no deployed code uses it; allow the rule with \
                 the reason when it is really unused"
            }
            Rule::DropDatabase => "drop a database by hand, never from a migration",
            Rule::RenameCollection => {
                "expand/contract: copy (or write to both), switch the code to the new name, drop \
                 the old collection in a later release"
            }
            Rule::RenameField => {
                "expand/contract: `$set` the new field from the old, deploy code that reads it, \
                 `$unset` the old one in a later release"
            }
            Rule::UnsetField => {
                "unset it one release after the last code reading it is gone, and allow the rule \
                 saying so"
            }
            Rule::UpdateEmptyFilter => {
                "filter on the documents that need it, e.g. `{\"field\": {\"$exists\": false}}`"
            }
            Rule::DeleteEmptyFilter => {
                "name the documents in the filter; to empty the collection on purpose, allow the \
                 rule with the reason"
            }
            Rule::DataInTransaction => {
                "move the data step out of the transaction, bounded or in batches, written so \
                 that a rerun is harmless"
            }
            Rule::MissingDown => {
                "add a `down` that undoes `up` (`migo test NAME` checks it), or allow the rule \
                 with the reason it cannot be undone"
            }
            Rule::DropIndexUnhidden => {
                "hide it first (`collMod` with `index: {name, hidden: true}`) in an earlier \
                 release, then drop it"
            }
            Rule::LintAllow => {
                "write `\"lint\": {\"allow\": {\"RULE\": \"why\"}}` (.json) or `migo:allow RULE \
                 why` in a comment (scripts), with a rule id of `migo lint --rules`"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case_and_round_trip() {
        let mut ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        for id in &ids {
            assert!(
                id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{id}"
            );
            assert_eq!(Rule::from_id(id).map(Rule::id), Some(*id));
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALL.len());
    }
}
