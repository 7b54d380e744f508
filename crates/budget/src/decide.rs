//! The one budget decision, whatever answers it: the budget table (the functions), a stated
//! history (`guard test`) or the recorded operations (`guard replay --budgets`).
//!
//! A call counts against each budget of its tool, in the file's order ([`Counted`]). For each,
//! the source says whether there is room (a slot is taken) or not (the budget is full, and
//! when it frees up). In `ENFORCE` the first full budget decides: nothing more is asked. In
//! `LOG_ONLY` the call goes on, so it is still counted in the budgets that have room. The
//! outcome is a [`BudgetOutcome`], which the guard audits and counts like its own checks.

use guard::{BudgetCount, BudgetOutcome, Mode};

use crate::count::{Counted, Exhausted};

/// What the source said about one budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// There was room: the slot taken in the table (`None` from a history, which has none).
    Room(Option<u32>),
    /// The budget is used up.
    Full(Exhausted),
}

/// One budget check in progress: which budget to ask next, and what the answers make of it.
///
/// ```
/// use budget::{Answer, Budgets, Decide};
/// use guard::{BudgetOutcome, Mode, ResourceFacts};
///
/// let budgets = Budgets::embedded().unwrap();
/// let service = ResourceFacts::new("Guard::EcsService", "arn:svc/api")
///     .tags([("Environment".to_owned(), "staging".to_owned())]);
/// let counted = budgets.counted("restart_service", &service);
/// let mut decide = Decide::new(&counted, Mode::Enforce);
/// while let Some(_budget) = decide.next() {
///     decide.answer(Answer::Room(Some(0)));
/// }
/// assert!(matches!(decide.outcome(), BudgetOutcome::Within(slots) if slots.len() == 2));
/// ```
#[derive(Debug)]
pub struct Decide<'c, 'b> {
    counted: &'c [Counted<'b>],
    asked: usize,
    mode: Mode,
    room: Vec<BudgetCount>,
    full: Option<Exhausted>,
}

impl<'c, 'b> Decide<'c, 'b> {
    /// A check of the budgets `counted`, in `mode`.
    pub fn new(counted: &'c [Counted<'b>], mode: Mode) -> Self {
        Self {
            counted,
            asked: 0,
            mode,
            room: Vec::with_capacity(counted.len()),
            full: None,
        }
    }

    /// The next budget to ask the source about; `None` once the decision is made.
    pub fn next(&self) -> Option<&'c Counted<'b>> {
        if self.full.is_some() && self.mode == Mode::Enforce {
            return None;
        }
        self.counted.get(self.asked)
    }

    /// The source's answer about the budget [`Decide::next`] named.
    pub fn answer(&mut self, answer: Answer) {
        let Some(counted) = self.counted.get(self.asked) else {
            return;
        };
        self.asked += 1;
        match answer {
            Answer::Room(slot) => self.room.push(counted.count(slot)),
            Answer::Full(full) => {
                // The first full budget is the one reported; in LOG_ONLY the others are still
                // counted where there is room.
                self.full.get_or_insert(full);
            }
        }
    }

    /// The decision: within every budget, or over the first full one.
    pub fn outcome(self) -> BudgetOutcome {
        match self.full {
            Some(full) => BudgetOutcome::OverBudget {
                counted: self.room,
                full: full.full(),
            },
            None => BudgetOutcome::Within(self.room),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use guard::ResourceFacts;

    use super::*;
    use crate::file::Budgets;

    fn service() -> ResourceFacts {
        ResourceFacts::new("Guard::EcsService", "arn:svc/api")
            .tags([("Environment".to_owned(), "staging".to_owned())])
    }

    #[test]
    fn enforce_stops_at_the_first_full_budget() {
        let budgets = Budgets::embedded().unwrap();
        let counted = budgets.counted("restart_service", &service());
        let mut decide = Decide::new(&counted, Mode::Enforce);
        let first = decide.next().unwrap();
        decide.answer(Answer::Full(Exhausted::new(
            first,
            Some(Duration::from_secs(60)),
        )));
        assert!(decide.next().is_none());
        let BudgetOutcome::OverBudget { counted, full } = decide.outcome() else {
            panic!("not over budget");
        };
        assert!(counted.is_empty());
        assert_eq!(full.count.budget, "restart-per-service");
        assert_eq!(full.frees_in_seconds, Some(60));
    }

    #[test]
    fn log_only_counts_the_call_where_there_is_room() {
        let budgets = Budgets::embedded().unwrap();
        let counted = budgets.counted("restart_service", &service());
        let mut decide = Decide::new(&counted, Mode::LogOnly);
        let first = decide.next().unwrap();
        decide.answer(Answer::Full(Exhausted::new(first, None)));
        assert_eq!(
            decide.next().map(|c| c.budget.id.as_str()),
            Some("restart-per-environment")
        );
        decide.answer(Answer::Room(Some(4)));
        assert!(decide.next().is_none());
        let BudgetOutcome::OverBudget { counted, full } = decide.outcome() else {
            panic!("not over budget");
        };
        assert_eq!(counted.len(), 1);
        assert_eq!(counted[0].slot, Some(4));
        assert_eq!(full.count.budget, "restart-per-service");
    }
}
