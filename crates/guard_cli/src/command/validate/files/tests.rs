use std::path::Path;

use super::ignored;

fn write(root: &Path, file: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "").unwrap();
}

fn ignored_files(files: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        write(dir.path(), file);
    }
    ignored(dir.path()).into_iter().map(|i| i.file).collect()
}

#[test]
fn the_files_the_guard_and_prove_read_are_not_reported() {
    assert!(
        ignored_files(&[
            "gateway/a.cedar",
            "resource/b.cedar",
            "schema/agentcore.cedarschema",
            "invariants/c.cedar",
            "budgets.json",
            "tests/cases.json",
            "README.md",
            "gateway/README.md",
            "resource/.gitkeep",
        ])
        .is_empty()
    );
}

#[test]
fn cedar_files_at_the_top_in_subfolders_and_with_other_extensions_are_reported() {
    assert_eq!(
        ignored_files(&[
            "new_policy.cedar",
            "gateway/old/restart.cedar",
            "gateway/restart.cedar.bak",
            "resource/protect.Cedar",
            "resource/notes.txt",
            "schema/resource.cedarschema.json",
            "invariants/never.ced",
            "drafts/resource.cedar",
        ]),
        [
            "drafts/resource.cedar",
            "gateway/old/restart.cedar",
            "gateway/restart.cedar.bak",
            "invariants/never.ced",
            "new_policy.cedar",
            "resource/notes.txt",
            "resource/protect.Cedar",
            "schema/resource.cedarschema.json",
        ]
    );
}

#[test]
fn each_warning_says_where_the_file_would_be_read() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "gateway/old/restart.cedar");
    write(dir.path(), "resource/protect.Cedar");
    let shown: Vec<String> = ignored(dir.path())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        [
            "gateway/old/restart.cedar: warning: not loaded: subfolders of `gateway/` are not \
             read; move it to `gateway/` (as `*.cedar`) to make it one of the call check's policies",
            "resource/protect.Cedar: warning: not loaded: only `*.cedar` files in `resource/` are \
             read as the resource check's policies; rename it to `.cedar`",
        ]
    );
}
