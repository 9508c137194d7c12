//! tern: a terminal email client. The binary is `src/main.rs`; everything else lives here so
//! integration tests can use it.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod net;
pub mod pop3;
pub mod runtime;
pub mod send;
pub mod store;
pub mod sync;
pub mod tui;
pub mod ui;
pub mod worker;
