//! What a person sees: the two output streams, reports (text or JSON), prompts and logs.

pub(crate) mod escape;
pub(crate) mod logging;
pub(crate) mod output;
pub(crate) mod prompt;
pub(crate) mod report;
pub(crate) mod suggest;
