//! The caller assertion: who is calling, as the gateway's interceptor decided it, signed with a
//! key the agent never holds, bound to one tool call, and verified by the tool.
//!
//! AgentCore tells a Lambda target the tool, gateway and request ids, never the caller. The
//! interceptor knows the caller (it verified or read the bearer token); it passes the caller
//! on inside the call's arguments, under [`ASSERTION_FIELD`], as a compact JWS (`ES256`):
//!
//! ```text
//! {"v":1,"iss":"agent-guard-interceptor","sub":"agent-7","typ":"OAuthUser","tags":{…},
//!  "gw":"arn:aws:bedrock-agentcore:…:gateway/…","tool":"<target>___<tool>",
//!  "args":"<SHA-256 of the other arguments, canonical JSON>","mcp":"<MCP request id>",
//!  "iat":…,"exp":…,"jti":"…"}
//! ```
//!
//! It is short-lived ([`MAX_LIFETIME`]) and bound to *this* call: the gateway, the tool, a
//! digest of the arguments it travels with ([`arguments_digest`], over [`canonical_json`])
//! and the MCP request id. The tool verifies the signature against the public key it trusts
//! ([`Verifier`]), the time, and every binding against what it received; anything else is a
//! refusal. That the same assertion is not used twice is the tool's to remember (a table, as
//! budgets are), by [`Verified::jti`] until [`Verified::expires_at`].
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use caller::{Binding, Claims, LocalSigner, Verifier, issue};
//! use guard::Principal;
//! use serde_json::json;
//!
//! # tokio_test_block_on(async {
//! let signer = LocalSigner::generate("local-key").unwrap();
//! let verifier = Verifier::new([("local-key", signer.public_key_der().as_slice())]).unwrap();
//! let caller = Principal::OAuthUser { id: "agent-7".into(), tags: [("scope".into(), "devops".into())].into() };
//! let arguments = json!({"environment": "staging", "instance_id": "i-0abc1234"});
//! let binding = Binding {
//!     gateway: "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/gw-xyz789",
//!     tool: "terminate-instance___terminate_instance",
//!     arguments: &arguments,
//!     mcp_request: Some("8"),
//! };
//! let now = SystemTime::now();
//! let token = issue(&signer, &caller, &binding, now, Duration::from_secs(30), "jti-1").await.unwrap();
//! let verified = verifier.verify(&token, &binding, now).unwrap();
//! assert_eq!(verified.principal, caller);
//!
//! // Bound to the arguments: the same assertion on another instance is refused.
//! let other = json!({"environment": "staging", "instance_id": "i-0def5678"});
//! let moved = Binding { arguments: &other, ..binding };
//! assert!(verifier.verify(&token, &moved, now).is_err());
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

mod canonical;
mod claims;
mod der;
mod signer;
mod token;
mod verifier;

use std::time::Duration;

pub use canonical::{arguments_digest, canonical_json};
pub use claims::{Binding, Claims};
pub use der::ecdsa_der_to_fixed;
pub use signer::{LocalSigner, SignError, Signer};
pub use token::{TokenError, issue};
pub use verifier::{AssertionError, KeyError, Verified, Verifier};

/// The argument that carries the assertion from the interceptor to the tool. An agent that
/// sends it itself is refused at the interceptor; the tool takes it out before parsing the
/// arguments, and the policies never see it.
pub const ASSERTION_FIELD: &str = "_guard_caller";

/// The setting that names the KMS key (id or ARN) behind every assertion: the interceptor
/// signs with it, the tools fetch its public half. One name, the same string on both sides:
/// it is the assertion's `kid`.
pub const SIGNING_KEY_VAR: &str = "CALLER_SIGNING_KEY";

/// Who issues assertions (`iss`).
pub const ISSUER: &str = "agent-guard-interceptor";

/// The longest an assertion may live: the gateway invokes the target within a second or two
/// of the interceptor; a minute covers a slow cold start, no more.
pub const MAX_LIFETIME: Duration = Duration::from_secs(60);

/// The lifetime the interceptor gives an assertion unless told otherwise.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(30);

/// Clock skew allowed between the interceptor and the tool (both Lambda, NTP-synced).
pub const LEEWAY: Duration = Duration::from_secs(5);
