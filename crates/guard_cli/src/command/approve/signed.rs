//! The approval endpoint's function URL, called with requests signed with SigV4 (service
//! `lambda`): Lambda verifies the signature and hands the function the signer's IAM ARN, which
//! is what a decision is recorded as. The credentials come from the standard chain, the region
//! from the SDK configuration; the requests go through the SDK's own HTTP client.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::{Credentials, provider::ProvideCredentials};
use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SigningSettings, sign},
    sign::v4,
};
use aws_smithy_http_client::{
    Connector,
    tls::{self, rustls_provider::CryptoMode},
};
use aws_smithy_runtime_api::client::{
    http::{HttpConnector, HttpConnectorSettings},
    identity::Identity,
    orchestrator::HttpRequest,
};
use aws_smithy_types::{body::SdkBody, byte_stream::ByteStream};
use oversight::Verdict;
use serde_json::{Value, json};

use crate::CliError;

/// The service function URLs are signed for.
pub const SERVICE: &str = "lambda";

/// The most bytes of an answer read: a summary is a few kilobytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The approval endpoint at one function URL, as one signer.
pub struct ApprovalEndpoint {
    url: http::Uri,
    region: String,
    credentials: Credentials,
    connector: Connector,
}

impl ApprovalEndpoint {
    /// The endpoint at `url`, signing as the standard chain's credentials in its region.
    pub async fn from_sdk(url: &str, sdk: &SdkConfig) -> Result<Self, CliError> {
        let region = sdk.region().ok_or(CliError::Usage(
            "no AWS region: set AWS_REGION (or a profile's region) to the stack's region, which \
             the approval endpoint's requests are signed for",
        ))?;
        let provider = sdk
            .credentials_provider()
            .ok_or_else(|| CliError::Identity("no AWS credentials are configured".to_owned()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| CliError::Identity(guard::with_causes(&e)))?;
        Self::new(url, region.as_ref(), credentials)
    }

    /// The endpoint at `url`, signing with `credentials` for `region`. HTTPS, or plain HTTP to
    /// a loopback address only (a local stand-in): a signed decision never crosses a network
    /// in the clear.
    pub fn new(url: &str, region: &str, credentials: Credentials) -> Result<Self, CliError> {
        let bad = |why: &str| CliError::Endpoint {
            url: url.to_owned(),
            message: why.to_owned(),
        };
        let uri: http::Uri = url
            .parse()
            .map_err(|_| bad("not a URL (the stack's ApprovalEndpointUrl output)"))?;
        let host = uri.host().unwrap_or_default();
        let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1");
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if loopback => {}
            _ => return Err(bad("the approval endpoint is an https:// URL")),
        }
        if uri.query().is_some() {
            return Err(bad("give the function URL itself, without a query"));
        }
        let connector = Connector::builder()
            .connector_settings(
                HttpConnectorSettings::builder()
                    .connect_timeout(Duration::from_secs(10))
                    // A cold start of the function included.
                    .read_timeout(Duration::from_secs(30))
                    .build(),
            )
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .build();
        Ok(Self {
            url: uri,
            region: region.to_owned(),
            credentials,
            connector,
        })
    }

    /// `GET ?request=ID`: the request's summary, status and who the endpoint takes the signer
    /// for.
    pub async fn show(&self, id: &str) -> Result<Value, CliError> {
        let uri = self.at(&format!("?request={}", request_id(id)?))?;
        self.send(&http::Method::GET, uri, Vec::new()).await
    }

    /// `POST {"request": ID, "decision": …}`: the decision, recorded as the signer.
    pub async fn decide(&self, id: &str, verdict: Verdict) -> Result<Value, CliError> {
        let decision = match verdict {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
        };
        let body = json!({"request": request_id(id)?, "decision": decision}).to_string();
        let uri = self.at("")?;
        self.send(&http::Method::POST, uri, body.into_bytes()).await
    }

    /// The function URL's root with `query`.
    fn at(&self, query: &str) -> Result<http::Uri, CliError> {
        let path = match self.url.path() {
            "" => "/",
            path => path,
        };
        format!(
            "{}://{}{path}{query}",
            self.url.scheme_str().unwrap_or("https"),
            self.url.authority().map_or("", |a| a.as_str())
        )
        .parse()
        .map_err(|_| self.failed("the request URL could not be built"))
    }

    async fn send(
        &self,
        method: &http::Method,
        uri: http::Uri,
        body: Vec<u8>,
    ) -> Result<Value, CliError> {
        let request = signed_request(
            method,
            uri,
            body,
            &self.credentials,
            &self.region,
            SystemTime::now(),
        )
        .map_err(|why| self.failed(&why))?;
        let request =
            HttpRequest::try_from(request).map_err(|e| self.failed(&guard::with_causes(&e)))?;
        let response = self
            .connector
            .call(request)
            .await
            .map_err(|e| self.failed(&guard::with_causes(&e)))?;
        let status = response.status().as_u16();
        let bytes = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| self.failed(&guard::with_causes(&e)))?
            .into_bytes();
        let text = String::from_utf8_lossy(bytes.get(..MAX_ANSWER_BYTES).unwrap_or(&bytes));
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status == 200 && answer.is_object() {
            return Ok(answer);
        }
        // The endpoint's own refusals say `message`; Lambda's (unsigned, not allowed) `Message`.
        let said = answer
            .get("message")
            .or_else(|| answer.get("Message"))
            .and_then(Value::as_str)
            .map_or_else(|| text.chars().take(300).collect(), ToOwned::to_owned);
        Err(CliError::EndpointRefused {
            status,
            message: said,
        })
    }

    fn failed(&self, why: &str) -> CliError {
        CliError::Endpoint {
            url: self.url.to_string(),
            message: why.to_owned(),
        }
    }
}

/// `method uri` with `body`, signed with SigV4 for service `lambda` in `region` at `time`:
/// `authorization`, `x-amz-date` (and `x-amz-security-token` for temporary credentials) added.
pub fn signed_request(
    method: &http::Method,
    uri: http::Uri,
    body: Vec<u8>,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<http::Request<SdkBody>, String> {
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or("the URL names no host")?;
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header(http::header::HOST, host)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(SdkBody::from(body.clone()))
        .map_err(|e| e.to_string())?;
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let uri = request.uri().to_string();
    let signable = SignableRequest::new(
        request.method().as_str(),
        &uri,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(&body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

/// A request id as the endpoint takes one: letters, digits, `_` and `-` (so it needs no
/// escaping in the query the signature covers); the endpoint checks the rest.
fn request_id(id: &str) -> Result<&str, CliError> {
    let plain = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        Ok(id)
    } else {
        Err(CliError::Approval(oversight::ApprovalError::MalformedId(
            id.to_owned(),
        )))
    }
}

#[cfg(test)]
mod tests;
