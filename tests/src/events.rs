//! The sample events under `events/<function>/`: their placeholder instance ids, and copies of
//! them with a seeded world's ids in place.

use std::path::Path;

use crate::{emulator::workspace, world::World};

/// The placeholder instance ids of the sample events, each with the seeded instance of the
/// same kind: EC2 makes up its own ids, so the events name placeholders a user (or a test)
/// swaps for real ones.
pub fn placeholders(world: &World) -> Vec<(&'static str, String)> {
    let first = |ids: &[String]| ids.first().cloned().unwrap_or_default();
    vec![
        ("i-0a1b2c3d4e5f60001", first(&world.staging.instances)),
        ("i-0a1b2c3d4e5f60002", world.dev_instance.clone()),
        ("i-0a1b2c3d4e5f60003", first(&world.production.instances)),
        ("i-0a1b2c3d4e5f60004", world.untagged_instance.clone()),
        (
            "i-0a1b2c3d4e5f60005",
            world.staging.protected_instance.clone(),
        ),
    ]
}

/// Copies every event of `events/<function>/` into `out/<function>/` with `world`'s instance
/// ids in place of the placeholders; returns how many were written.
pub fn write_for(world: &World, out: &Path) -> Result<usize, String> {
    let placeholders = placeholders(world);
    let mut written = 0;
    let source = workspace().join("events");
    let functions = std::fs::read_dir(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    for function in functions
        .filter_map(Result::ok)
        .filter(|f| f.path().is_dir())
    {
        let target = out.join(function.file_name());
        std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        let files = std::fs::read_dir(function.path()).map_err(|e| e.to_string())?;
        for file in files.filter_map(Result::ok) {
            let path = file.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let mut text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            for (placeholder, real) in &placeholders {
                text = text.replace(placeholder, real);
            }
            let to = target.join(file.file_name());
            std::fs::write(&to, text).map_err(|e| format!("{}: {e}", to.display()))?;
            written += 1;
        }
    }
    Ok(written)
}
