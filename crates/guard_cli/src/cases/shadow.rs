//! What shadow policies would decide, read from the audit records the guard writes: a
//! [`guard::Decision`] says what was enforced; the record of the same check carries its
//! [`ShadowDecision`].

use std::sync::{Arc, Mutex};

use guard::{AuditRecord, AuditSink, Check, ShadowDecision};

/// An audit sink that keeps only the shadow outcomes of the checks recorded since the last
/// [`ShadowCapture::take`]. One runner asks one case at a time, so the outcomes taken after a
/// case are that case's.
#[derive(Debug, Clone, Default)]
pub struct ShadowCapture {
    pending: Arc<Mutex<Vec<(Check, ShadowDecision)>>>,
}

impl ShadowCapture {
    /// The shadow outcomes recorded since the last call, in check order.
    pub fn take(&self) -> Vec<(Check, ShadowDecision)> {
        match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl AuditSink for ShadowCapture {
    fn record(&self, record: &AuditRecord) {
        let Some(shadow) = &record.shadow else {
            return;
        };
        let entry = (record.check, shadow.clone());
        match self.pending.lock() {
            Ok(mut pending) => pending.push(entry),
            Err(poisoned) => poisoned.into_inner().push(entry),
        }
    }
}
