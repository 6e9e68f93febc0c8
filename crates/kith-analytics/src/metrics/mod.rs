//! One metric per module. Adding a metric is adding a file here and a line in
//! [`crate::metric::registry`].

pub mod activation;
pub mod active_members;
pub mod churn;
pub mod cohort_retention;
pub mod first_response;
pub mod member_growth;
pub mod needs_reply;
pub mod new_members;
pub mod peer_support;
