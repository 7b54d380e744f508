//! `guard new-tool NAME`: every piece a guarded tool needs, written into the workspace — the
//! crate (tool, `main`, handler tests, tool schema, deploy fragments), its policies, schema
//! lines, cases, invariants, budget and events — checked together before anything is written.
//!
//! The tool it writes works from the start on EC2's pattern (the guide's example,
//! `crates/agentcore_target/examples/reboot_instance`, is what it writes for `reboot_instance`
//! with `--resource-type Server`; a test keeps the two equal), so it builds and its tests pass
//! before anyone changes a line.

mod deploy;
mod names;
mod templates;

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use budget::Budgets;
use guard::{PolicyFile, PolicySets, PolicySources};

pub use names::Names;
pub use templates::render;

use crate::prove::invariant;

/// Why no tool was written.
#[derive(Debug, thiserror::Error)]
pub enum NewToolError {
    /// The tool name is not a snake_case verb and object.
    #[error(
        "`{0}` is not a tool name: write what it does and what it acts on, in snake_case, \
         such as `stop_rds_instance`"
    )]
    InvalidName(String),
    /// The target name is not a gateway target name.
    #[error("`{0}` is not a gateway target name: lowercase letters, digits and `-`")]
    InvalidTarget(String),
    /// The resource type is not a Cedar entity type name.
    #[error(
        "`{0}` is not an entity type name: CamelCase letters and digits, such as `RdsInstance`"
    )]
    InvalidResourceType(String),
    /// The output directory is not a workspace like this one.
    #[error(
        "`{0}` is not the root of this workspace (it has no `policies/schema/` and `crates/`): \
         pass it with --out"
    )]
    NotAWorkspace(String),
    /// A file the tool needs is there already.
    #[error("`{0}` exists already: new-tool writes new files only")]
    Exists(String),
    /// The workspace with the new tool would not be valid.
    #[error("the workspace with `{tool}` would not be valid, so nothing was written:\n  {}", .problems.join("\n  "))]
    Invalid {
        /// The tool.
        tool: String,
        /// What is wrong, one per line.
        problems: Vec<String>,
    },
    /// A file could not be read or written.
    #[error("`{file}`: {source}")]
    Io {
        /// The file.
        file: String,
        /// What the system said.
        source: std::io::Error,
    },
}

/// What was written: new files, and existing files a part was added to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Files created, relative to the workspace root.
    pub created: Vec<String>,
    /// Files changed, relative to the workspace root.
    pub edited: Vec<String>,
}

/// A file's path under the workspace root and its whole new text.
type Planned = (String, String);

/// Writes the tool `names` describes into the workspace at `root`. Everything is planned and
/// checked first — the policies and schema load, the budgets parse and name declared tools,
/// the invariants validate, no file exists — so an error writes nothing.
pub fn generate(root: &Path, names: &Names) -> Result<Written, NewToolError> {
    let policies = root.join("policies");
    if !policies.join("schema").is_dir() || !root.join("crates").is_dir() {
        return Err(NewToolError::NotAWorkspace(root.display().to_string()));
    }
    let (mut created, edited) = plan(root, names)?;
    let targets = format!("crates/{}/deploy/targets.yaml", names.tool);
    for file in created.iter().map(|(file, _)| file).chain([&targets]) {
        if root.join(file).exists() {
            return Err(NewToolError::Exists(file.clone()));
        }
    }
    check(root, names, &created, &edited)?;
    // The targets fragment holds the gateway policy as `guard render` prints it, which needs
    // the policies as they will be.
    let statement = deploy::statement(root, names, &edited, &created)?;
    let schema = templates::tool_schema(names);
    created.push((
        targets,
        deploy::targets_fragment(names, &schema, &statement),
    ));
    let mut written = Written::default();
    for (file, text) in &created {
        write_new(&root.join(file), text)?;
        written.created.push(file.clone());
    }
    for (file, text) in &edited {
        fs::write(root.join(file), text).map_err(|source| NewToolError::Io {
            file: file.clone(),
            source,
        })?;
        written.edited.push(file.clone());
    }
    Ok(written)
}

/// The new files (but the targets fragment, which needs the planned policies loaded) and the
/// edited ones, with their text.
fn plan(root: &Path, names: &Names) -> Result<(Vec<Planned>, Vec<Planned>), NewToolError> {
    let created: Vec<Planned> = templates::NEW_FILES
        .iter()
        .map(|(path, template)| (render(path, names), render(template, names)))
        .collect();
    let mut edited = Vec::new();
    for (file, part) in [
        (
            "policies/schema/agentcore.cedarschema",
            templates::AGENTCORE_PART,
        ),
        (
            "policies/schema/resource.cedarschema",
            templates::RESOURCE_PART,
        ),
    ] {
        let text = read(root, file)?;
        let with_part = insert_before_last(&text, '}', &render(part, names));
        edited.push((file.to_owned(), with_part));
    }
    let budgets = read(root, "policies/budgets.json")?;
    let entry = format!(",\n{}", render(templates::BUDGET, names).trim_end());
    edited.push((
        "policies/budgets.json".to_owned(),
        insert_after_last(&budgets, '}', ']', &entry),
    ));
    Ok((created, edited))
}

/// Loads the planned workspace as the guard, `guard validate` and `guard prove` would.
fn check(
    root: &Path,
    names: &Names,
    created: &[Planned],
    edited: &[Planned],
) -> Result<(), NewToolError> {
    let sources = planned_sources(root, created, edited)?;
    let invalid = |problems: Vec<String>| NewToolError::Invalid {
        tool: names.tool.clone(),
        problems,
    };
    let sets = PolicySets::load(&sources)
        .map_err(|e| invalid(e.problems.iter().map(ToString::to_string).collect()))?;
    let budgets = planned(edited, "policies/budgets.json").unwrap_or_default();
    Budgets::parse("policies/budgets.json", budgets)
        .and_then(|b| b.check_tools(|t| sets.declares_tool(t)))
        .map_err(|e| invalid(vec![e.to_string()]))?;
    let mut invariants = invariant::from_dir(&root.join("policies/invariants"))
        .map_err(|e| invalid(vec![e.to_string()]))?;
    invariants.extend(
        created
            .iter()
            .filter(|(file, _)| file.starts_with("policies/invariants/"))
            .cloned(),
    );
    invariant::parse(&invariants, sets.schema()).map_err(|e| invalid(vec![e.to_string()]))?;
    Ok(())
}

/// The policy and schema files of `root/policies` with the planned ones in place.
pub(crate) fn planned_sources(
    root: &Path,
    created: &[Planned],
    edited: &[Planned],
) -> Result<PolicySources, NewToolError> {
    let on_disk =
        PolicySources::from_dir(&root.join("policies")).map_err(|e| NewToolError::Invalid {
            tool: String::new(),
            problems: e.problems.iter().map(ToString::to_string).collect(),
        })?;
    let mut files: Vec<PolicyFile> = on_disk.files().to_vec();
    for file in &mut files {
        if let Some(text) = planned(edited, &format!("policies/{}", file.name)) {
            text.clone_into(&mut file.text);
        }
    }
    for (path, text) in created {
        let Some(name) = path.strip_prefix("policies/") else {
            continue;
        };
        if name.starts_with("gateway/") || name.starts_with("resource/") {
            files.push(PolicyFile {
                name: name.to_owned(),
                text: text.clone(),
            });
        }
    }
    Ok(PolicySources::from_files(
        root.join("policies").display().to_string(),
        files,
    ))
}

fn planned<'a>(files: &'a [Planned], file: &str) -> Option<&'a str> {
    files
        .iter()
        .find(|(path, _)| path == file)
        .map(|(_, text)| text.as_str())
}

fn read(root: &Path, file: &str) -> Result<String, NewToolError> {
    fs::read_to_string(root.join(file)).map_err(|source| NewToolError::Io {
        file: file.to_owned(),
        source,
    })
}

/// `text` with `part` inserted just before its last `close` (a schema namespace's brace).
fn insert_before_last(text: &str, close: char, part: &str) -> String {
    match text.rfind(close) {
        Some(at) => {
            let (head, tail) = text.split_at(at);
            format!("{}\n{}\n{tail}", head.trim_end(), part.trim_end())
        }
        None => format!("{text}{part}"),
    }
}

/// `text` with `part` inserted after the last `item_end` that precedes its last `list_end`
/// (a new element at the end of a JSON array).
fn insert_after_last(text: &str, item_end: char, list_end: char, part: &str) -> String {
    let end = text.rfind(list_end).unwrap_or(text.len());
    let head = text.get(..end).unwrap_or(text);
    match head.rfind(item_end) {
        Some(at) => {
            let (before, after) = text.split_at(at + item_end.len_utf8());
            format!("{before}{part}{after}")
        }
        None => text.to_owned(),
    }
}

/// Creates `path` (and its folders); fails if it exists.
fn write_new(path: &Path, text: &str) -> Result<(), NewToolError> {
    let io = |source| NewToolError::Io {
        file: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)
}

/// The Rust files written, for formatting.
pub fn rust_files(root: &Path, written: &Written) -> Vec<PathBuf> {
    written
        .created
        .iter()
        .filter(|f| f.ends_with(".rs"))
        .map(|f| root.join(f))
        .collect()
}

#[cfg(test)]
mod tests;
