//! Exemptions written in a migration, each with its reason: `"lint": {"allow": {"RULE": "why"}}`
//! in a `.json` migration, `// migo:allow RULE why` (or `# migo:allow RULE why`) in a script. An
//! exemption covers the whole file; one without a reason, or naming no rule, exempts nothing and
//! is itself a finding (`lint-allow`).

use std::sync::OnceLock;

use regex::Regex;

use crate::migration::json::JsonMigration;

/// One exemption as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allow {
    /// The rule id as written (checked against the rule table by the caller).
    pub(crate) rule: String,
    pub(crate) reason: String,
    /// Where it is written (for a `.json` migration, the line of `"lint"`).
    pub(crate) line: Option<usize>,
}

/// The exemptions of a `.json` migration, whose `"lint"` key is on `line`.
pub(crate) fn of_json(m: &JsonMigration, line: Option<usize>) -> Vec<Allow> {
    m.lint_allow
        .iter()
        .map(|(rule, reason)| Allow {
            rule: rule.clone(),
            reason: reason.trim().to_string(),
            line,
        })
        .collect()
}

/// The `migo:allow RULE why` comments of a script.
pub(crate) fn of_script(text: &str) -> Vec<Allow> {
    static ALLOW: OnceLock<Regex> = OnceLock::new();
    let pattern = ALLOW.get_or_init(|| {
        Regex::new(r"(?://|#)\s*migo:allow(?:\s+(\S+))?[ \t]*(.*)$").expect("valid")
    });
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let found = pattern.captures(line)?;
            Some(Allow {
                rule: found.get(1).map_or("", |r| r.as_str()).to_string(),
                reason: found[2].trim().to_string(),
                line: Some(i + 1),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_in_scripts() {
        let text = "// migo:allow drop-collection the archive is copied to S3 first\nfoo();\n  # migo:allow unset-field\n// migo:allow\n";
        assert_eq!(
            of_script(text),
            vec![
                Allow {
                    rule: "drop-collection".into(),
                    reason: "the archive is copied to S3 first".into(),
                    line: Some(1)
                },
                Allow {
                    rule: "unset-field".into(),
                    reason: String::new(),
                    line: Some(3)
                },
                Allow {
                    rule: String::new(),
                    reason: String::new(),
                    line: Some(4)
                },
            ]
        );
    }
}
