//! Support shared by the integration tests, included by each with `mod common;`:
//!
//! - [`process`]: the binary under test, lines from a child's pipes, waiting;
//! - [`ports`]: free loopback ports, and whether one listens;
//! - [`http`]: a small HTTP/1.1 client (response heads parsed with `httparse`);
//! - [`web_server`] and [`wsgi`]: the two servers started for real;
//! - [`upstream`]: a tiny HTTP upstream in the test process;
//! - [`scenarios`]: recorded trace events from `tests/fixtures/scenarios`;
//! - [`lessons`]: the fixture lesson pack in `tests/fixtures/lessons`;
//! - [`tmux`]: a program in a private tmux server;
//! - [`tools`]: the outside programs a test needs, failing clearly when one is missing.

// Each test crate uses a part of this module, and `pub` is how its parts reach the tests.
#![allow(dead_code, unreachable_pub)]

pub mod http;
pub mod lessons;
pub mod ports;
pub mod process;
pub mod scenarios;
pub mod tmux;
pub mod tools;
pub mod upstream;
pub mod web_server;
pub mod wsgi;
