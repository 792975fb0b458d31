//! What the public reads: the status page's four states and the words
//! each publishes. A status page is a public change, so its text is fixed
//! here and previewed exactly: it names the service's public name and the
//! time of the next update, never a version, a host, an environment or an
//! error (internal detail the template does not name never leaves).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The incident states of Atlassian Statuspage (and most status pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl PublicStatus {
    pub const ALL: [PublicStatus; 4] = [
        Self::Investigating,
        Self::Identified,
        Self::Monitoring,
        Self::Resolved,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == word)
    }

    /// The status of the affected components while the incident is in this
    /// state (Statuspage's component statuses).
    pub fn component(self) -> &'static str {
        match self {
            Self::Investigating | Self::Identified => "major_outage",
            Self::Monitoring => "degraded_performance",
            Self::Resolved => "operational",
        }
    }

    /// The public words, for a service known publicly as `public`.
    pub fn text(self, public: &str) -> String {
        match self {
            Self::Investigating => format!(
                "We are investigating errors affecting {public}. We will post an update as soon as we know more."
            ),
            Self::Identified => format!(
                "We have identified the cause of the errors affecting {public} and are rolling back a recent change."
            ),
            Self::Monitoring => {
                format!("A fix has been applied to {public} and we are monitoring the results.")
            }
            Self::Resolved => {
                format!("This incident has been resolved: {public} is operating normally.")
            }
        }
    }
}

/// A configured status page as previews show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// `statuspage (page kctbh9vrtdwd, $STATUSPAGE_API_KEY)`.
    pub via: String,
    /// Services' public names (`web` → `Checkout`); a service not named is
    /// published under its own name.
    pub public: Vec<(String, String)>,
}

impl View {
    pub fn public_name<'a>(&'a self, service: &'a str) -> &'a str {
        self.public
            .iter()
            .find(|(s, _)| s == service)
            .map_or(service, |(_, p)| p.as_str())
    }
}

impl fmt::Display for PublicStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_texts_name_only_the_public_name() {
        for s in PublicStatus::ALL {
            assert_eq!(PublicStatus::parse(s.name()), Some(s));
            assert!(s.text("Checkout").contains("Checkout"));
        }
        assert_eq!(PublicStatus::Resolved.component(), "operational");
    }
}
