//! The repository's Markdown, read the way a newcomer pastes it: its fenced blocks, each with
//! the file and line it starts at and the marker that says what it needs.

use std::path::{Path, PathBuf};

/// What a shell block may need, said after its language (` ```sh offline`): `offline` blocks
/// run as written in the test command; the others say why they do not.
pub const SHELL_MARKERS: [&str; 4] = ["offline", "slow", "aws", "docker"];

/// One fenced block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The Markdown file, relative to the workspace.
    pub file: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The words after the fence: `sh offline`, `json`, `rust`.
    pub info: String,
    /// The block's text, its fence's indentation removed.
    pub text: String,
}

impl Block {
    /// `sh`, `json`, …: the info string's first word.
    pub fn language(&self) -> &str {
        self.info.split_whitespace().next().unwrap_or_default()
    }

    /// A shell block marked `offline`.
    pub fn runs_offline(&self) -> bool {
        self.language() == "sh" && self.info.split_whitespace().any(|w| w == "offline")
    }

    /// `README.md:42`.
    pub fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The fenced blocks of `markdown`, from `file`. A fence may be indented (a block inside a
/// list item); its content loses that indentation.
pub fn blocks(file: &str, markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<(usize, usize, String, Vec<String>)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match (&mut open, trimmed.strip_prefix("```")) {
            (None, Some(info)) => open = Some((index + 1, indent, info.trim().to_owned(), vec![])),
            (Some(_), Some(rest)) if rest.trim().is_empty() => {
                if let Some((line, _, info, text)) = open.take() {
                    found.push(Block {
                        file: file.to_owned(),
                        line,
                        info,
                        text: text.join("\n") + "\n",
                    });
                }
            }
            (Some((_, fence_indent, _, text)), _) => {
                let cut = line
                    .char_indices()
                    .take_while(|(i, c)| *i < *fence_indent && *c == ' ')
                    .count();
                text.push(line.get(cut..).unwrap_or(line).to_owned());
            }
            (None, None) => {}
        }
    }
    found
}

/// Every Markdown file of the workspace at `root` (not under `target/`, `.venv/` or `.git/`),
/// relative to it, sorted.
pub fn markdown_files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    walk(root, root, &mut found);
    found.sort();
    found
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path: PathBuf = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if dir == root && matches!(name.as_str(), "target" | ".venv" | ".git") {
            continue;
        }
        // Installed packages' own docs (tests/iam's npm modules) are not ours.
        if name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, found);
        } else if name.ends_with(".md")
            && let Ok(relative) = path.strip_prefix(root)
        {
            found.push(relative.display().to_string());
        }
    }
}
