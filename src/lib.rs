//! tern: a terminal email client. The binary is `src/main.rs`; everything else lives here so
//! integration tests can use it.

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod store;
pub mod tui;
pub mod ui;
