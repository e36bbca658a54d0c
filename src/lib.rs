//! maia-krm: applies a MAIA workspace's cross-cutting edits (TLS, OAuth, registry pull secret,
//! shared volume) to rendered Kubernetes manifests without disturbing anything else.
//!
//! Reader → filters → writer: [`stream`] reads documents keeping their text, [`patch`] holds one
//! filter per edit, [`pipeline`] runs them, and [`stream::write`] puts the stream back together.

pub mod config;
pub mod error;
pub mod explain;
pub mod generate;
pub mod krm;
pub mod patch;
pub mod pipeline;
pub mod stream;
#[cfg(test)]
mod testutil;
