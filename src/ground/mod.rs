//! The ground floor: the vocabulary every stage shares (a migration's source and record, its
//! direction and phase, why a request is refused, why a run stops), the text helpers that
//! make outside text safe to show (escaping, redaction, a driver error or a signal in words),
//! and the two output streams everything writes to.
//! Nothing here imports anything else of the crate, so every other module may import it.

pub(crate) mod direction;
pub(crate) mod driver;
pub(crate) mod escape;
pub(crate) mod knob;
pub(crate) mod output;
pub(crate) mod record;
pub(crate) mod refusal;
pub(crate) mod secret;
pub(crate) mod signal;
pub(crate) mod source;
pub(crate) mod stop;
pub(crate) mod words;

pub(crate) use direction::{Direction, Phase};
