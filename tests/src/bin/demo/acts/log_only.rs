//! LOG_ONLY with `dry_run`: the sequence again on a fresh world, to show what LOG_ONLY reports
//! without letting anything change.

use crate::sequence::{self, Played};

/// Plays the sequence in LOG_ONLY, every call a dry run; whether nothing changed.
pub async fn play() -> Result<bool, String> {
    // Its world stops as soon as it is played: what it shows is the snapshots.
    let Played { before, after, .. } = sequence::play(
        "LOG_ONLY with dry_run: what LOG_ONLY would let through, on a fresh world",
        "LOG_ONLY",
        true,
    )
    .await?;
    let unchanged = before == after;
    println!(
        "\nLOG_ONLY reported every would-deny and let the calls through as dry runs: {}",
        if unchanged {
            "nothing changed"
        } else {
            "SOMETHING CHANGED"
        }
    );
    println!(
        "Use LOG_ONLY to trial policies before ENFORCE; with real calls it would have let production go."
    );
    Ok(unchanged)
}
