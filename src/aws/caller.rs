//! Who AWS says the operator is: STS `GetCallerIdentity`, asked once at
//! start so every change is attributed to a name AWS vouches for, not only
//! to a shared login on a bastion.

use std::time::Duration;

use super::{Aws, AwsError, describe};

/// Startup waits no longer than this for the answer: a console must open
/// even when AWS is slow or unreachable (it then records no AWS identity).
pub const CALLER_TIMEOUT: Duration = Duration::from_secs(3);

/// The caller's ARN: `arn:aws:sts::123456789012:assumed-role/…/alice@example.com`.
/// The setup's own load (region, credentials) counts against the same
/// bound, since an unreachable credential source stalls as long as AWS.
pub async fn caller_arn(aws: &Aws) -> Result<String, AwsError> {
    let ask = async {
        let conf = aws.config().await?;
        let resp = aws_sdk_sts::Client::new(conf)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| describe("GetCallerIdentity", &e))?;
        resp.arn().map(str::to_string).ok_or(AwsError::Other {
            call: "GetCallerIdentity",
            detail: "AWS answered without an ARN".into(),
        })
    };
    tokio::time::timeout(CALLER_TIMEOUT, ask)
        .await
        .unwrap_or(Err(AwsError::NoAnswer {
            call: "GetCallerIdentity",
        }))
}
