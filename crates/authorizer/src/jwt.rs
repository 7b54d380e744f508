//! A JWT taken apart strictly, and the checks on its claims that hold whoever verified its
//! signature.
//!
//! Both ways a caller is identified — claims of a token the gateway verified
//! ([`crate::token::unverified_claims_with`]) and tokens verified here ([`crate::verifier`]) —
//! parse a token with [`Jwt::parse`] and check it with [`ClaimRules::check`], so the two can
//! never disagree on what a token says:
//!
//! - a header or claims object naming a member twice is refused: serde keeps the last of two
//!   `sub`s, other parsers the first, and a token must mean one thing to every reader;
//! - a `crit` header is refused (RFC 7515 §4.1.11: extensions listed there must be understood,
//!   and none is here);
//! - `iss` must be a string (one issuer signed it), `exp`, `nbf` and `iat` numbers;
//! - a negative `exp` is reported as the expiry it is; an `iat` in the future (beyond
//!   [`LEEWAY_SECONDS`]) is refused; so is a lifetime — `exp` minus `iat`, or minus now without
//!   `iat` — over the configured maximum (`JWT_MAX_LIFETIME`, default 24 h), which bounds how
//!   long a stolen token is worth having;
//! - an Amazon Cognito token (issuer `https://cognito-idp.<region>.amazonaws.com/<pool id>`)
//!   must be an access token (`token_use: "access"`): an ID token says who someone is to a
//!   client, not that the client may call an API.
//!
//! Whether the token has expired or is not valid yet is checked where the token is verified
//! ([`Expiry::Checked`]); a gateway that verified it checked that when the request arrived.

use std::time::Duration;

use base64::Engine as _;
use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::{
    rejection::{Claims, NotJwt, Part, Rejection},
    shown::Shown,
};

/// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. One minute covers the drift of
/// NTP-synced clocks between the issuer and Lambda, and is the common default (jsonwebtoken's,
/// Cognito's guidance); a longer one would stretch every token's lifetime by as much.
pub const LEEWAY_SECONDS: u64 = 60;

/// The longest lifetime a token may have unless `JWT_MAX_LIFETIME` says otherwise: a day, the
/// longest Amazon Cognito issues access tokens for.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Seconds since the epoch.
pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// A JWT in its parts: the decoded header and claims, and what the signature covers.
#[derive(Debug, Clone)]
pub struct Jwt<'a> {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Claims,
    /// `<header>.<payload>` as the token spells them: the bytes the signature signs.
    pub signing_input: &'a str,
    /// The signature, base64url.
    pub signature: &'a str,
}

impl<'a> Jwt<'a> {
    /// Splits `token` into its three parts and decodes header and claims, each of which must be
    /// a JSON object that names every member once.
    pub fn parse(token: &'a str) -> Result<Self, Rejection> {
        let malformed = Rejection::Malformed;
        let (signing_input, signature) = token.rsplit_once('.').ok_or(malformed(NotJwt::Parts))?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or(malformed(NotJwt::Parts))?;
        if payload.contains('.') {
            return Err(malformed(NotJwt::Parts));
        }
        // The payload first: when both are broken, what the token claims is the better clue.
        let claims = object(payload, Part::Payload)?;
        let header = object(header, Part::Header)?;
        Ok(Self {
            header,
            claims,
            signing_input,
            signature,
        })
    }

    /// A header member that must be a string when present (`alg`, `kid`).
    pub fn header_text(&self, name: &'static str) -> Result<Option<&str>, Rejection> {
        match self.header.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(Rejection::Malformed(NotJwt::HeaderField(name))),
        }
    }
}

/// One base64url part of a token, as a JSON object whose members are all named once.
fn object(part: &str, which: Part) -> Result<Map<String, Value>, Rejection> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| Rejection::Malformed(NotJwt::Base64(which, e.to_string())))?;
    let json_error =
        |e: serde_json::Error| Rejection::Malformed(NotJwt::Json(which, e.to_string()));
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        // Not an object: say whether it is JSON at all.
        serde_json::from_slice::<Value>(&bytes).map_err(json_error)?;
        return Err(Rejection::Malformed(NotJwt::NotObject(which)));
    }
    let mut reader = serde_json::Deserializer::from_slice(&bytes);
    let (fields, repeated) = reader.deserialize_map(UniqueNames).map_err(json_error)?;
    reader.end().map_err(json_error)?;
    match repeated {
        Some(name) => Err(Rejection::Duplicate {
            part: which,
            name: Shown::text(&name),
        }),
        None => Ok(fields),
    }
}

/// Reads a JSON object member by member, noting the first name that occurs twice (serde_json's
/// own maps silently keep the last).
struct UniqueNames;

impl<'de> Visitor<'de> for UniqueNames {
    type Value = (Map<String, Value>, Option<String>);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Self::Value, A::Error> {
        let mut fields = Map::new();
        let mut repeated = None;
        // JSON escapes are decoded before names are compared: `"\u0073ub"` is a second `sub`.
        while let Some(name) = members.next_key::<String>()? {
            let value: Value = members.next_value()?;
            if fields.contains_key(&name) {
                repeated.get_or_insert(name);
            } else {
                fields.insert(name, value);
            }
        }
        Ok((fields, repeated))
    }
}

/// Whether the token's expiry and start of validity are checked here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Checked here: `exp` is required and must not be past, an `nbf` must not be in the future.
    Checked,
    /// Checked by the gateway that verified the token, when the request arrived.
    CheckedByGateway,
}

/// The checks every token's claims must pass, whoever verified its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimRules {
    /// The longest lifetime accepted (`JWT_MAX_LIFETIME`).
    pub max_lifetime: Duration,
}

impl Default for ClaimRules {
    fn default() -> Self {
        Self {
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }
}

impl ClaimRules {
    /// Checks `jwt`'s header and claims at `now` (seconds since the epoch).
    pub fn check(&self, jwt: &Jwt<'_>, now: u64, expiry: Expiry) -> Result<(), Rejection> {
        if let Some(crit) = jwt.header.get("crit") {
            let listed = match crit {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            return Err(Rejection::CriticalExtension(Shown::text(&listed)));
        }
        let claims = &jwt.claims;
        if claims.get("iss").is_some_and(|iss| !iss.is_string()) {
            return Err(Rejection::IssuerNotString);
        }
        let exp = numeric_date(claims, "exp")?;
        let nbf = numeric_date(claims, "nbf")?;
        let iat = numeric_date(claims, "iat")?;
        if let Some(exp) = exp.filter(|exp| *exp < 0) {
            return Err(Rejection::NegativeExpiry(exp));
        }
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(i64::MAX);
        if expiry == Expiry::Checked {
            let exp = exp.ok_or(Rejection::MissingClaim("exp"))?;
            if exp.saturating_add(leeway) < now {
                return Err(Rejection::Expired);
            }
            if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
                return Err(Rejection::NotYetValid);
            }
        }
        if let Some(iat) = iat.filter(|iat| *iat > now.saturating_add(leeway)) {
            return Err(Rejection::IssuedInFuture(iat.saturating_sub(now)));
        }
        if let Some(exp) = exp {
            self.check_lifetime(exp, iat, now, leeway)?;
        }
        check_token_use(claims)
    }

    /// From `iat` to `exp`; without `iat`, from now (give or take the clock skew) to `exp`.
    fn check_lifetime(
        &self,
        exp: i64,
        iat: Option<i64>,
        now: i64,
        leeway: i64,
    ) -> Result<(), Rejection> {
        let (start, slack) = match iat {
            Some(iat) => (iat, 0),
            None => (now, leeway),
        };
        let lifetime = i128::from(exp) - i128::from(start);
        let max = i128::from(self.max_lifetime.as_secs()) + i128::from(slack);
        if lifetime > max {
            return Err(Rejection::LifetimeTooLong {
                lifetime: Duration::from_secs(u64::try_from(lifetime).unwrap_or(u64::MAX)),
                max: self.max_lifetime,
            });
        }
        Ok(())
    }
}

/// A NumericDate claim (RFC 7519 §2: seconds since the epoch, possibly fractional), floored to
/// whole seconds; `None` when absent. Anything but a number is malformed.
fn numeric_date(claims: &Claims, name: &'static str) -> Result<Option<i64>, Rejection> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let number = value.as_number().ok_or(Rejection::MalformedClaim(name))?;
    if let Some(whole) = number.as_i64() {
        return Ok(Some(whole));
    }
    if number.as_u64().is_some() {
        // Beyond i64: the far future, which no lifetime check lets through.
        return Ok(Some(i64::MAX));
    }
    match number.as_f64() {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a float NumericDate is floored to whole seconds; `as` saturates"
        )]
        Some(seconds) if seconds.is_finite() => Ok(Some(seconds.floor() as i64)),
        _ => Err(Rejection::MalformedClaim(name)),
    }
}

/// An Amazon Cognito user pool's token (issuer `https://cognito-idp.<region>.amazonaws.com/<pool
/// id>`, or its FIPS and China spellings) must be an access token.
fn check_token_use(claims: &Claims) -> Result<(), Rejection> {
    let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
        return Ok(());
    };
    if !is_cognito(iss) {
        return Ok(());
    }
    match claims.get("token_use") {
        Some(Value::String(token_use)) if token_use == "access" => Ok(()),
        Some(Value::String(token_use)) => Err(Rejection::NotAccessToken(Shown::text(token_use))),
        Some(other) => Err(Rejection::NotAccessToken(Shown::text(&other.to_string()))),
        None => Err(Rejection::NotAccessToken(Shown::of(None))),
    }
}

/// Whether `iss` is a Cognito user pool. Recognised broadly (any case, any scheme, a port):
/// a false match only asks an access token of an issuer that is not Cognito.
fn is_cognito(iss: &str) -> bool {
    let iss = iss.to_ascii_lowercase();
    let rest = iss
        .strip_prefix("https://")
        .or_else(|| iss.strip_prefix("http://"))
        .unwrap_or(&iss);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    host.starts_with("cognito-idp")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

/// Why `JWT_MAX_LIFETIME` cannot be used.
pub fn parse_max_lifetime(value: &str) -> Result<Duration, String> {
    let lifetime = humantime::parse_duration(value).map_err(|e| e.to_string())?;
    if lifetime.is_zero() {
        return Err("a lifetime of zero would refuse every token".to_owned());
    }
    Ok(lifetime)
}

#[cfg(test)]
mod tests;
