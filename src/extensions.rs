//! What a team's own binary compiled in (its migrations and extra subcommands, and its name),
//! handed from [`crate::App`] to every command that discovers migrations or lists subcommands.

use std::sync::Arc;

use crate::api::Extra;
use crate::migration::compiled::Compiled;

/// What a custom binary compiled in: its migrations and extras, and its name (recorded with the
/// migrations it applies, so plain `migo` can say which binary has them).
#[derive(Clone, Default)]
pub(crate) struct Extensions {
    pub(crate) migrations: Vec<Compiled>,
    pub(crate) extras: Vec<Arc<dyn Extra>>,
    pub(crate) binary: String,
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extras: Vec<&str> = self.extras.iter().map(|e| e.name()).collect();
        f.debug_struct("Extensions")
            .field("migrations", &self.migrations)
            .field("extras", &extras)
            .field("binary", &self.binary)
            .finish()
    }
}

impl Extensions {
    /// The compiled extra called `name`.
    pub(crate) fn extra(&self, name: &str) -> Option<&Arc<dyn Extra>> {
        self.extras.iter().find(|e| e.name() == name)
    }
}
