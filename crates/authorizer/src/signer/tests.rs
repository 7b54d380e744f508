use std::time::Duration;

use super::*;

fn settings(env: &[(&str, &str)]) -> Result<Option<AssertionSettings>, LifetimeError> {
    AssertionSettings::read(|name| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

#[test]
fn a_signing_key_is_taken_as_given_with_the_default_lifetime() {
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    assert_eq!(
        settings(&[("CALLER_SIGNING_KEY", &format!(" {key} "))]),
        Ok(Some(AssertionSettings {
            key_id: key.to_owned(),
            lifetime: caller::DEFAULT_LIFETIME,
        }))
    );
    assert_eq!(
        settings(&[
            ("CALLER_SIGNING_KEY", "k"),
            ("CALLER_ASSERTION_LIFETIME", "45s")
        ])
        .unwrap()
        .unwrap()
        .lifetime,
        Duration::from_secs(45)
    );
}

#[test]
fn without_a_signing_key_there_are_no_assertions() {
    assert_eq!(settings(&[]), Ok(None));
    assert_eq!(settings(&[("CALLER_SIGNING_KEY", "  ")]), Ok(None));
}

#[test]
fn a_lifetime_that_is_not_one_an_assertion_may_have_is_refused() {
    for bad in ["forever", "0s", "500ms", "61s", "1h"] {
        let err = settings(&[
            ("CALLER_SIGNING_KEY", "k"),
            ("CALLER_ASSERTION_LIFETIME", bad),
        ])
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("CALLER_ASSERTION_LIFETIME"), "{message}");
        assert!(message.contains(&format!("`{bad}`")), "{message}");
    }
    // Broken even without a key: a typo is not silently ignored.
    assert!(settings(&[("CALLER_ASSERTION_LIFETIME", "1h")]).is_err());
    assert!(
        settings(&[
            ("CALLER_SIGNING_KEY", "k"),
            ("CALLER_ASSERTION_LIFETIME", "60s")
        ])
        .is_ok()
    );
}

#[test]
fn kms_signs_short_messages_as_they_are_and_long_ones_by_their_digest() {
    let short = vec![b'a'; KMS_RAW_LIMIT];
    assert_eq!(kms_message(&short), (short.clone(), MessageType::Raw));
    let long = vec![b'a'; KMS_RAW_LIMIT + 1];
    let (sent, kind) = kms_message(&long);
    assert_eq!(kind, MessageType::Digest);
    assert_eq!(sent, digest(&SHA256, &long).as_ref());
}

#[tokio::test]
async fn a_kms_signer_that_cannot_reach_kms_says_so_and_names_the_key() {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:1")
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
        .build();
    let signer = KmsSigner::new(Client::from_conf(config), "alias/caller");
    assert_eq!(signer.key_id(), "alias/caller");
    let err = signer.sign(b"x.y").await.unwrap_err();
    assert!(err.to_string().contains("`alias/caller`"), "{err}");
}
