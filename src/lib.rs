//! maia-krm: applies a MAIA workspace's cross-cutting edits (TLS, OAuth, registry pull secret,
//! shared volume) to rendered Kubernetes manifests without disturbing anything else.
//!
//! Reader → filters → writer: [`stream`] reads documents keeping their text, [`resource`] says
//! what a document holds, [`rules`] decides what is a route, a pod spec and the login, [`patch`]
//! holds one filter per edit, [`policy`] judges the output, [`pipeline`] runs them all, and
//! [`stream::write`] puts the stream back together. [`audit`] reports a workspace's exposure
//! from the same rule books and policy, and [`diff`] shows a run's changes per document.

pub mod audit;
pub mod config;
pub mod diff;
pub mod error;
pub mod explain;
pub mod generate;
pub mod krm;
pub mod patch;
pub mod pipeline;
pub mod policy;
pub mod resource;
pub mod rules;
pub mod stream;
#[cfg(test)]
mod testutil;
