//! The approval endpoint: approval requests decided through a Lambda function URL with
//! `AuthType: AWS_IAM`, so that who decided is the identity AWS verified from the request's
//! SigV4 signature — `requestContext.authorizer.iam.userArn` — and never a name in the body or
//! a field a client writes to the table.
//!
//! - `GET ?request=ID` answers the request's one-screen summary and status
//!   ([`oversight::ApprovalRequest::summary`]): the approver reads it first.
//! - `POST {"request": ID, "decision": "approve"|"reject"}` decides: nobody decides their own
//!   call ([`oversight::same_person`]); an approval the policies would not honour is refused
//!   before anything is written ([`oversight::may_approve`], with the policies compiled in, loaded
//!   as the tools load theirs); the decision's audit record (`guard::ControlRecord`) is written
//!   to the function's log before the decision is recorded — no record, no decision — and the
//!   decision is one conditional write ([`oversight::Approvals::decide`]).
//!
//! Every request, answered or refused, leaves one [`EndpointRecord`] line in the function's log.
//! Lambda answers an unsigned or unauthorised request itself (403) before the function runs; an
//! event that reaches the function without a verified identity (a direct invoke) is refused and
//! audited too. The template lets the operators invoke the function only through its URL
//! (`lambda:InvokedViaFunctionUrl`), so nobody it lets in can hand it an identity of their own.
//!
//! ```
//! use std::sync::Arc;
//! use approval_endpoint::{Endpoint, MemoryJournal};
//! use guard::{Guard, GuardConfig, NoAudit, PolicySources};
//! use serde_json::json;
//!
//! let guard = Guard::new(&PolicySources::embedded(), &GuardConfig::default(), Arc::new(NoAudit));
//! let journal = Arc::new(MemoryJournal::default());
//! let endpoint = Endpoint::new(Err(approval_endpoint::Misconfigured::NoTable), guard, journal.clone());
//!
//! // A direct invoke names nobody AWS verified: refused before anything is read.
//! let event = json!({"requestContext": {"http": {"method": "GET"}},
//!                    "queryStringParameters": {"request": "restart_service-0123456789abcdef0123456789abcdef"}});
//! let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let response = runtime.block_on(endpoint.handle(&event));
//! assert_eq!(response.status_code, 403);
//! assert!(journal.lines()[0].contains(r#""outcome":"refused""#));
//! ```

mod answer;
mod audit;
mod endpoint;
mod event;

pub use answer::{Refusal, Response};
pub use audit::{EndpointRecord, Journal, MemoryJournal, Outcome, Stdout};
pub use endpoint::{Endpoint, Misconfigured};
pub use event::{Ask, MAX_BODY_BYTES, MAX_ID_CHARS};
