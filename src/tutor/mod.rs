//! The tutor: the screen that runs the stack and shows every request travel it.
//!
//! - [`supervisor`] starts and controls the two servers as child processes; [`serve`] runs
//!   them headless.
//! - [`app`] is the state and `update(msg) -> effects`; [`traffic`] joins the servers' trace
//!   events into requests; [`animation`] replays them at a human pace; [`keymap`] maps keys
//!   to actions; [`lessons`] turns lesson Markdown into text; [`theme`] holds the colours.
//! - [`ui`] draws `&App`, one file per region; [`runner`] owns the terminal, the children
//!   and the loop that turns events into messages and effects into actions.

pub mod animation;
pub mod app;
pub mod keymap;
pub mod lessons;
pub mod runner;
pub mod serve;
pub mod supervisor;
pub mod theme;
pub mod traffic;
pub mod ui;
