//! Folding: what the guard changes in a real resource before Cedar sees it — defined here
//! once, for the guard, for `guard prove` (which must prove over the entities the guard
//! builds) and for `guard validate` (which warns about literals folding can never produce).
//!
//! - **Tag keys** are folded ([`fold_tag_key`]: compatibility forms normalised, surrounding
//!   white space dropped, lowercased): AWS keeps a key as someone typed it, and `Environment`,
//!   `ENVIRONMENT` and `environment ` must not be three different answers to "is this tagged
//!   production?". Two keys that fold to one make the resource ambiguous and it is refused.
//! - **Names** ([`FOLDED_ATTRIBUTES`]) are folded ([`fold_name`]: compatibility forms
//!   normalised, lowercased): policies match them by pattern (`resource.name like
//!   "*audit*"`), and a pattern must catch `/security/aUDIT-trail` too. They are not trimmed:
//!   AWS's naming rules for log groups, ECS services and clusters admit no white space, so
//!   there is nothing to trim, and a pattern sees the name AWS reported.
//! - **Everything else stays exact**, as AWS reports it: tag values (the `Environment`
//!   allowlist is `staging` or `dev`, nothing that merely resembles them), an EC2 state
//!   (`running`), an ECS service status (`ACTIVE`, `DRAINING`). A policy compares them with
//!   AWS's own spelling.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

/// The resource attributes the guard folds with [`fold_name`]: names, which policies match
/// by pattern. Every other attribute reaches Cedar exactly as AWS reported it.
pub const FOLDED_ATTRIBUTES: &[&str] = &["name", "cluster"];

/// A tag key as the guard hands it to Cedar: NFKC-normalised, trimmed, lowercased
/// (`ＥＮＶＩＲＯＮＭＥＮＴ ` → `environment`).
pub fn fold_tag_key(key: &str) -> String {
    key.nfkc().collect::<String>().trim().to_lowercase()
}

/// A name ([`FOLDED_ATTRIBUTES`]) as the guard hands it to Cedar: NFKC-normalised and
/// lowercased, not trimmed (`/Security/aUDIT-Trail` → `/security/audit-trail`).
pub fn fold_name(name: &str) -> String {
    name.nfkc().collect::<String>().to_lowercase()
}

/// Whether the guard can ever hand Cedar the tag key `key`. Folding is idempotent, so the
/// keys it produces are exactly those it leaves unchanged: `environment` yes, `Environment`
/// or ` environment` never.
pub fn is_folded_tag_key(key: &str) -> bool {
    fold_tag_key(key) == key
}

/// Whether the guard can ever hand Cedar the name `text` (as for [`is_folded_tag_key`]):
/// `/aws/cloudtrail` yes, `/aws/CloudTrail` never.
pub fn is_folded_name(text: &str) -> bool {
    fold_name(text) == text
}

/// Whether some folded name can match a `like` pattern whose literal (non-wildcard) parts
/// are `literals`. A character folding changes (`A`, `Σ`, `ﬁ`) never occurs in a folded name,
/// so a pattern that needs one never matches: `*Audit*` never, `*audit*` yes.
pub fn name_pattern_can_match<'a>(literals: impl IntoIterator<Item = &'a str>) -> bool {
    literals
        .into_iter()
        .flat_map(str::chars)
        .all(|c| is_folded_name(c.encode_utf8(&mut [0; 4])))
}

/// Attributes and tags, folded.
pub(crate) type Folded = (Map<String, Value>, BTreeMap<String, String>);

/// A real resource as its policies see it: tag keys folded, names ([`FOLDED_ATTRIBUTES`])
/// folded, everything else exact. Two keys that fold to one make the resource ambiguous:
/// which one AWS tooling and people read is not knowable, so it is refused (each clash is
/// returned as "`first` and `second`").
pub(crate) fn folded_resource(
    attributes: &Map<String, Value>,
    tags: &BTreeMap<String, String>,
) -> Result<Folded, Vec<String>> {
    let mut folded: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut clashes: Vec<String> = Vec::new();
    for (key, value) in tags {
        let lower = fold_tag_key(key);
        if let Some((first, _)) = folded.get(&lower) {
            clashes.push(format!("`{first}` and `{key}`"));
        } else {
            folded.insert(lower, (key.clone(), value.clone()));
        }
    }
    if !clashes.is_empty() {
        return Err(clashes);
    }
    let tags = folded.into_iter().map(|(k, (_, v))| (k, v)).collect();
    let attributes = attributes
        .iter()
        .map(|(name, v)| {
            let v = match v {
                Value::String(s) if FOLDED_ATTRIBUTES.contains(&name.as_str()) => {
                    Value::String(fold_name(s))
                }
                other => other.clone(),
            };
            (name.clone(), v)
        })
        .collect();
    Ok((attributes, tags))
}

#[cfg(test)]
mod tests;
