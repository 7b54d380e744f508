//! Telling people a call waits for them: the request's one-screen summary, published to an SNS
//! topic, so it reaches them by email or chat through the topic's usual subscriptions.

use aws_sdk_sns::error::DisplayErrorContext;

use crate::ApprovalRequest;

/// `GUARD_APPROVAL_TOPIC_ARN`: the SNS topic approval requests are announced on.
pub const APPROVAL_TOPIC_VAR: &str = "GUARD_APPROVAL_TOPIC_ARN";

/// SNS subjects are at most 100 characters of printable ASCII.
const MAX_SUBJECT: usize = 100;

/// Where approval requests are announced.
#[derive(Debug, Clone)]
pub struct Notifier {
    client: aws_sdk_sns::Client,
    topic: String,
}

impl Notifier {
    /// Announcements on topic `topic` (an ARN).
    pub fn new(client: aws_sdk_sns::Client, topic: impl Into<String>) -> Self {
        Self {
            client,
            topic: topic.into(),
        }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Publishes `request`'s summary. The message is the summary as the approver will see it;
    /// the subject names the tool and the id only (the agent's text stays in the body, where
    /// it is quoted JSON).
    pub async fn announce(&self, request: &ApprovalRequest) -> Result<(), String> {
        let subject: String = format!("Approval required: {} ({})", request.tool, request.id)
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .take(MAX_SUBJECT)
            .collect();
        self.client
            .publish()
            .topic_arn(&self.topic)
            .subject(subject)
            .message(request.summary())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "sns:Publish to `{}` failed: {}",
                    self.topic,
                    DisplayErrorContext(&e)
                )
            })
    }
}
