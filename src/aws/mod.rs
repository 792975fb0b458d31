//! Calling AWS: one SDK setup per distinct settings (region, profile,
//! endpoint), loaded on first use so the console never waits for it, with
//! the instance-metadata lookups bounded (off EC2 they would otherwise stall
//! startup), SDK timeouts and standard retries with backoff for throttling
//! and transient errors. Errors become one line with AWS's error code.

pub mod alarms;
pub mod caller;
pub mod metrics;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio::sync::OnceCell;

use crate::config::aws::AwsSettings;

/// What went wrong asking AWS, in words an operator can act on, AWS's own
/// error code first when it gave one. Panes and the journal get its text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// The region or the credentials could not be resolved.
    #[error("{0}")]
    Setup(String),
    /// AWS answered no: `ThrottlingException: Rate exceeded`.
    #[error("{}", refusal(.call, .code.as_deref(), .message.as_deref()))]
    Refused {
        call: &'static str,
        code: Option<String>,
        message: Option<String>,
    },
    #[error("{call}: AWS did not answer in time")]
    NoAnswer { call: &'static str },
    #[error("{call}: timed out reaching AWS")]
    ConnectTimeout { call: &'static str },
    #[error("{call}: cannot reach AWS (connection refused or no network)")]
    Unreachable { call: &'static str },
    #[error("{call}: AWS's answer could not be read")]
    Unreadable { call: &'static str },
    #[error("{call}: {detail}")]
    Other { call: &'static str, detail: String },
}

fn refusal(call: &str, code: Option<&str>, message: Option<&str>) -> String {
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => format!("AWS refused {call}"),
    }
}

/// The whole setup (region, credentials) must resolve within this.
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// One SDK setup, loaded once (a failed load is tried again next time).
pub struct Aws {
    pub settings: AwsSettings,
    sdk: OnceCell<SdkConfig>,
}

impl Aws {
    pub fn new(settings: AwsSettings) -> Arc<Aws> {
        Arc::new(Aws {
            settings,
            sdk: OnceCell::new(),
        })
    }

    pub async fn config(&self) -> Result<&SdkConfig, AwsError> {
        self.sdk
            .get_or_try_init(|| async {
                match tokio::time::timeout(LOAD_TIMEOUT, load(&self.settings)).await {
                    Ok(r) => r,
                    Err(_) => Err(AwsError::Setup(format!(
                        "AWS settings did not resolve within {}s (region and credentials: set `region` in [aws], AWS_REGION or the profile; credentials via the environment, AWS_PROFILE or SSO)",
                        LOAD_TIMEOUT.as_secs()
                    ))),
                }
            })
            .await
    }

    /// Where calls go, for the panes: `eu-west-1` or the endpoint.
    pub fn describe(&self) -> String {
        match (&self.settings.endpoint_url, &self.settings.region) {
            (Some(u), _) => u.clone(),
            (None, Some(r)) => r.clone(),
            (None, None) => "the default region".into(),
        }
    }
}

/// Settings → setups, shared by every service with the same settings (and
/// so one connection pool and one credential cache).
#[derive(Default)]
pub struct Registry {
    setups: Mutex<HashMap<AwsSettings, Arc<Aws>>>,
    /// What the providers share per setup (the ALB listeners, described
    /// together), one of each type: kept here, made by the provider.
    shared: Mutex<SharedBySetup>,
}

type SharedBySetup = HashMap<(AwsSettings, std::any::TypeId), Arc<dyn std::any::Any + Send + Sync>>;

impl Registry {
    /// The `T` shared by every provider with `settings`, made by `make` the
    /// first time: every ALB provider with those settings registers its
    /// listener in one, and one `DescribeListeners` serves twenty of them.
    pub fn shared<T: Send + Sync + 'static>(
        &self,
        settings: &AwsSettings,
        make: impl FnOnce(Arc<Aws>) -> Arc<T>,
    ) -> Arc<T> {
        let aws = self.get(settings);
        let any = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((settings.clone(), std::any::TypeId::of::<T>()))
            .or_insert_with(|| make(aws))
            .clone();
        // The key holds T's type id: the value is a T.
        any.downcast::<T>()
            .unwrap_or_else(|_| unreachable!("a shared value is kept under its own type"))
    }

    pub fn get(&self, settings: &AwsSettings) -> Arc<Aws> {
        self.setups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(settings.clone())
            .or_insert_with(|| Aws::new(settings.clone()))
            .clone()
    }
}

async fn load(s: &AwsSettings) -> Result<SdkConfig, AwsError> {
    // Instance metadata answers at once on EC2; elsewhere nothing answers,
    // so one short attempt instead of the SDK's patient default.
    let imds = aws_config::imds::Client::builder()
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_millis(500))
        .max_attempts(1)
        .build();
    let region = match &s.region {
        Some(r) => Some(Region::new(r.clone())),
        None => {
            let imds_region = aws_config::imds::region::ImdsRegionProvider::builder()
                .imds_client(imds.clone())
                .build();
            let env = aws_config::environment::EnvironmentVariableRegionProvider::new();
            match &s.profile {
                // A profile named in the configuration is what was meant:
                // its region before the shell's.
                Some(p) => RegionProviderChain::first_try(
                    aws_config::profile::ProfileFileRegionProvider::builder()
                        .profile_name(p)
                        .build(),
                )
                .or_else(env)
                .or_else(imds_region),
                None => RegionProviderChain::first_try(env)
                    .or_else(aws_config::profile::ProfileFileRegionProvider::new())
                    .or_else(imds_region),
            }
            .region()
            .await
        }
    };
    let Some(region) = region else {
        return Err(AwsError::Setup(
            "no AWS region: set `region` in [aws] (or AWS_REGION, or the profile's region)".into(),
        ));
    };
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region.clone())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(25))
                .build(),
        );
    match &s.credentials {
        Some((key, secret)) => {
            loader = loader.credentials_provider(aws_sdk_ecs::config::Credentials::new(
                key.clone(),
                secret.expose().to_string(),
                None,
                None,
                "backstop settings",
            ));
        }
        // A profile named in the configuration: its credentials, never keys
        // that happen to be in the shell (another account, perhaps).
        None if s.profile.is_some() => {
            let p = s.profile.clone().unwrap_or_default();
            loader = loader.credentials_provider(
                aws_config::profile::ProfileFileCredentialsProvider::builder()
                    .profile_name(p)
                    .build(),
            );
        }
        None => {
            let chain =
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .region(region)
                    .imds_client(imds);
            loader = loader.credentials_provider(chain.build().await);
        }
    }
    if let Some(p) = &s.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &s.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    Ok(loader.load().await)
}

/// One line for a pane: `ThrottlingException: Rate exceeded`, `cannot
/// reach AWS (connection refused)`. The whole chain goes to the log.
pub fn describe<E, R>(call: &'static str, e: &SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    tracing::warn!("{call}: {}", DisplayErrorContext(e));
    let other = || AwsError::Other {
        call,
        detail: first_cause(&DisplayErrorContext(e).to_string()),
    };
    match e {
        SdkError::ServiceError(_) => AwsError::Refused {
            call,
            code: e.code().map(str::to_string),
            message: e.message().map(str::to_string),
        },
        SdkError::TimeoutError(_) => AwsError::NoAnswer { call },
        SdkError::DispatchFailure(d) => match d.as_connector_error() {
            Some(c) if c.is_timeout() => AwsError::ConnectTimeout { call },
            Some(c) if c.is_io() => AwsError::Unreachable { call },
            _ => other(),
        },
        SdkError::ResponseError(_) => AwsError::Unreadable { call },
        _ => other(),
    }
}

/// The most telling part of an SDK error chain, kept short.
fn first_cause(chain: &str) -> String {
    let last = chain.rsplit(": ").next().unwrap_or(chain).trim();
    let mut s: String = last.chars().take(160).collect();
    if last.chars().count() > 160 {
        s.push('…');
    }
    s
}
