//! The files of a policies directory nothing loads: a policy saved with the wrong extension,
//! in a subfolder or at the top level validates nothing and decides nothing, silently —
//! unless `guard validate` says so.

use std::{
    fmt,
    path::{Path, PathBuf},
};

/// Where each kind of file is read from, and the extension it must have.
const LOADED: [(&str, &str, &str); 4] = [
    ("gateway", "cedar", "the call check's policies"),
    ("resource", "cedar", "the resource check's policies"),
    ("schema", "cedarschema", "the schema"),
    ("invariants", "cedar", "`guard prove`'s invariants"),
];

/// A file of the policies directory that nothing reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The path under the policies directory, with `/` separators.
    pub file: String,
    /// Why nothing reads it.
    pub why: String,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: not loaded: {}", self.file, self.why)
    }
}

/// Every file under `root` that looks like policy material (its name mentions `cedar`, or it
/// sits in one of the loaded folders) but is not read by the guard or `guard prove`. Case files
/// (`tests/`), `budgets.json` and other documents are not policy material.
pub fn ignored(root: &Path) -> Vec<Ignored> {
    let mut found = Vec::new();
    walk(root, root, &mut found);
    found.sort_by(|a, b| a.file.cmp(&b.file));
    found
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<Ignored>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(root, &path, found);
        } else if let Some(why) = why_ignored(root, &path) {
            found.push(Ignored {
                file: relative(root, &path),
                why,
            });
        }
    }
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Why the file at `path` is read by nothing, or `None` when it is read (or is no policy
/// material).
fn why_ignored(root: &Path, path: &Path) -> Option<String> {
    let file = relative(root, path);
    let parts: Vec<&str> = file.split('/').collect();
    let name = parts.last().copied().unwrap_or_default();
    let looks_like_cedar = name.to_ascii_lowercase().contains("cedar");
    let folder = LOADED.iter().find(|(dir, _, _)| parts.first() == Some(dir));
    match (parts.as_slice(), folder) {
        // Directly inside a loaded folder: only the folder's extension is read.
        ([_, name], Some((dir, ext, what))) => {
            let has_ext = Path::new(name).extension().is_some_and(|e| e == *ext);
            // A note beside the policies (`README.md`, `.gitkeep`) is not a misnamed policy.
            let a_note = name.starts_with('.') || name.ends_with(".md");
            (!has_ext && !a_note).then(|| {
                format!("only `*.{ext}` files in `{dir}/` are read as {what}; rename it to `.{ext}`")
            })
        }
        // Deeper inside a loaded folder: subfolders are not read.
        ([dir, ..], Some((_, ext, what))) => Some(format!(
            "subfolders of `{dir}/` are not read; move it to `{dir}/` (as `*.{ext}`) to make it one of {what}"
        )),
        ([single], None) if looks_like_cedar && *single != "budgets.json" => Some(
            "policies are read only from `gateway/` (call check) and `resource/` (resource check), \
             invariants from `invariants/`, the schema from `schema/`"
                .to_owned(),
        ),
        (_, None) if looks_like_cedar => Some(
            "only `gateway/`, `resource/`, `schema/` and `invariants/` are read; move it into one \
             of them"
                .to_owned(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
