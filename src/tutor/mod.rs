//! The tutor: runs the stack and (soon) the screen that shows it.
//!
//! So far: [`supervisor`] starts and controls the two servers as child processes, and
//! [`serve`] runs them headless.

pub mod serve;
pub mod supervisor;
