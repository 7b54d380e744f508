//! ENFORCE: the article's sequence, for real, on a fresh world; and the final state it leaves —
//! production untouched, staging's work done.

use std::collections::BTreeMap;

use e2e::world::{Snapshot, World};
use serde_json::{Value, json};

use crate::sequence::{self, Played};

/// Plays the sequence in ENFORCE; the world stays up for the acts that go on on it.
pub async fn play() -> Result<Played, String> {
    sequence::play(
        "ENFORCE: the sequence, for real (AWS emulator on 127.0.0.1)",
        "ENFORCE",
        false,
    )
    .await
}

/// Prints the final state around the sequence; whether production was untouched and the
/// staging work done.
pub fn final_state(world: &World, before: &Snapshot, after: &Snapshot) -> bool {
    let production_untouched = production_of(before, world) == production_of(after, world);
    let staging = &world.staging;
    let terminated = staging
        .instances
        .iter()
        .filter(|id| after.instance(id) == "terminated")
        .count();
    let restarted = staging
        .services
        .iter()
        // ECS adds a deployment, the emulator replaces it: either way the ids change.
        .filter(|s| {
            after.deployments_of(&staging.cluster, s) != before.deployments_of(&staging.cluster, s)
        })
        .count();
    let old_left = staging
        .old_streams
        .iter()
        .filter(|s| after.streams_of(&staging.log_group).contains(s))
        .count();
    let fresh_kept = staging
        .fresh_streams
        .iter()
        .all(|s| after.streams_of(&staging.log_group).contains(s));

    println!("\nFinal state");
    println!(
        "  production: {}",
        if production_untouched {
            "untouched — every instance running, no new deployment, every log stream and audit record kept"
        } else {
            "TOUCHED"
        }
    );
    println!(
        "  staging:    {terminated}/{} idle instances terminated, {restarted}/{} services redeployed, \
         {} old log streams deleted, fresh streams {}",
        staging.instances.len(),
        staging.services.len(),
        staging.old_streams.len() - old_left,
        if fresh_kept { "kept" } else { "LOST" }
    );
    let staging_done = terminated == staging.instances.len()
        && restarted == staging.services.len()
        && old_left == 0
        && fresh_kept;
    production_untouched && staging_done
}

/// What production is made of, in `snapshot`: its instances, services (the misplaced one
/// among them) and log streams (the audit group's among them).
fn production_of(snapshot: &Snapshot, world: &World) -> Value {
    let p = &world.production;
    let instances: BTreeMap<&String, &str> = p
        .instances
        .iter()
        .chain([&p.protected_instance])
        .map(|id| (id, snapshot.instance(id)))
        .collect();
    let services: BTreeMap<&String, &[String]> = p
        .services
        .iter()
        .map(|s| (s, snapshot.deployments_of(&p.cluster, s)))
        .chain([(
            &world.misplaced_service,
            snapshot.deployments_of(&world.staging.cluster, &world.misplaced_service),
        )])
        .collect();
    let streams: BTreeMap<&String, &[String]> = [&p.log_group, &world.audit_log_group]
        .into_iter()
        .map(|g| (g, snapshot.streams_of(g)))
        .collect();
    json!({"instances": instances, "services": services, "log_streams": streams})
}
