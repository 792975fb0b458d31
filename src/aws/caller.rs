//! Who AWS says the operator is: STS `GetCallerIdentity`, asked once at
//! start so every change is attributed to a name AWS vouches for, not only
//! to a shared login on a bastion.

use std::time::Duration;

use super::{Aws, AwsError, describe};

/// Startup waits no longer than this for the answer: a console must open
/// even when AWS is slow or unreachable (it then records no AWS identity).
pub const CALLER_TIMEOUT: Duration = Duration::from_secs(3);

/// Who AWS says the caller is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// `arn:aws:sts::123456789012:assumed-role/…/alice@example.com`.
    pub arn: String,
    /// `AROAEXAMPLEID:alice@example.com`: what IAM policies call
    /// `${aws:userid}`, and so what a table can be told to let only this
    /// principal write under.
    pub userid: String,
}

/// The caller's ARN and user id. The setup's own load (region,
/// credentials) counts against the same bound, since an unreachable
/// credential source stalls as long as AWS.
pub async fn caller(aws: &Aws) -> Result<Caller, AwsError> {
    let ask = async {
        let conf = aws.config().await?;
        let resp = aws_sdk_sts::Client::new(conf)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| describe("GetCallerIdentity", &e))?;
        match (resp.arn(), resp.user_id()) {
            (Some(arn), Some(userid)) => Ok(Caller {
                arn: arn.to_string(),
                userid: userid.to_string(),
            }),
            _ => Err(AwsError::Other {
                call: "GetCallerIdentity",
                detail: "AWS answered without an ARN or a user id".into(),
            }),
        }
    };
    tokio::time::timeout(CALLER_TIMEOUT, ask)
        .await
        .unwrap_or(Err(AwsError::NoAnswer {
            call: "GetCallerIdentity",
        }))
}
