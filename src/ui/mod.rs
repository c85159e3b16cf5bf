//! What a person sees: reports (text or JSON), prompts and logs, written to the two streams of
//! [`crate::ground::output`].

pub(crate) mod logging;
pub(crate) mod prompt;
pub(crate) mod report;
