//! One metric per module. Adding a metric is adding a file here and a line in
//! [`crate::metric::registry`].

pub mod absence_factor;
pub mod activation;
pub mod active_members;
pub mod churn;
pub mod cohort_retention;
pub mod conversation_quality;
pub mod engagement_levels;
pub mod feedback_candidates;
pub mod first_response;
pub mod health_index;
pub mod inactive_contributors;
pub mod level_pipeline;
pub mod member_growth;
pub mod needs_reply;
pub mod network;
pub mod new_members;
pub mod newcomers_waiting;
pub mod onboarding_funnel;
pub mod participation_ladder;
pub mod peer_support;
pub mod recently_inactive;
pub mod resolution;
pub mod response_effect;
pub mod sentiment;
