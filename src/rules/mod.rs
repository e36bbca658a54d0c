//! The rule books: what counts as a route and what it may serve, what holds a pod spec, what the
//! group's login is. Decided here once and read by everything that edits (`patch`), judges
//! (`policy`) or reports (`audit`, `--explain`), so none can answer differently.

pub mod login;
pub mod pods;
pub mod routes;
pub mod traefik_rule;
