//! Seeds a running AWS emulator with the demo's world, for trying the functions by hand.
//!
//! ```sh
//! python tests/emulator/server.py --port 5000 &
//! target/debug/seed --endpoint http://127.0.0.1:5000 --events target/events
//! ```
//!
//! Creates what `tests/demo.sh` runs against — a staging and a production ECS cluster with
//! services, EC2 instances (tagged, untagged, termination-protected), log groups (a compliance
//! audit one among them) and the budget table — then prints the world and the settings a
//! function needs to use it. With `--events DIR`, writes a copy of every sample event of
//! `events/` into DIR with the placeholder instance ids replaced by the seeded instances', so
//! `cargo lambda invoke --data-file DIR/…` acts on real (emulated) resources.

use std::{
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

use e2e::{Emulator, emulator::BUDGET_TABLE, world};

/// What the command line asks for.
struct Args {
    endpoint: String,
    events: Option<PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        endpoint: "http://127.0.0.1:5000".to_owned(),
        events: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut value = || given.next().ok_or(format!("`{arg}` needs a value"));
        match arg.as_str() {
            "--endpoint" => args.endpoint = value()?,
            "--events" => args.events = Some(PathBuf::from(value()?)),
            other => {
                return Err(format!(
                    "unknown argument `{other}` (usage: seed [--endpoint URL] [--events DIR])"
                ));
            }
        }
    }
    Ok(args)
}

/// Waits until something listens at `endpoint` (an emulator started a moment ago in the
/// background is still loading).
fn wait_for(endpoint: &str) -> Result<(), String> {
    let host = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{endpoint}` is not http://host:port"))?
        .trim_end_matches('/');
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(host).is_err() {
        if Instant::now() > deadline {
            return Err(format!("nothing answers at {endpoint} after 60 s"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

async fn run() -> Result<(), String> {
    let args = args()?;
    wait_for(&args.endpoint)?;
    let emulator = Emulator::at(&args.endpoint);
    let world = world::seed(&emulator.sdk_config().await).await?;
    let shown = serde_json::to_string_pretty(&world).map_err(|e| e.to_string())?;
    println!("{shown}");
    println!("# the settings a function needs for this world:");
    println!("export ECS_CLUSTERS={}", world.ecs_clusters());
    println!("export BUDGET_TABLE={BUDGET_TABLE}");
    if let Some(out) = &args.events {
        let written = e2e::events::write_for(&world, out)?;
        println!(
            "# {written} events with this world's instance ids: {}/<function>/",
            out.display()
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
