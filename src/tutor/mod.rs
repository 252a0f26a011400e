//! The tutor: the screen that runs the stack (see [`crate::stack`]) and shows every
//! request travel it.
//!
//! - [`app`] is the state and `update(msg) -> effects`, as sub-models; [`overlays`] are the
//!   floating windows, each with its own keys; [`effects`] performs what `update` asks for.
//! - [`traffic`] joins the servers' trace events into requests; [`animation`] replays them
//!   at a human pace; [`requests`] is the built-in browser; [`keymap`] maps keys to
//!   actions; [`lessons`] turns lesson Markdown into text; [`theme`] holds the colours.
//! - [`ui`] draws `&App`, one file per region; [`terminal`] owns the screen (and lends it
//!   to `$EDITOR`); [`runner`] is the loop that turns events into messages.

pub mod animation;
pub mod app;
pub mod effects;
pub mod keymap;
pub mod lessons;
pub mod overlays;
pub mod requests;
pub mod runner;
pub mod terminal;
pub mod theme;
pub mod traffic;
pub mod ui;
