//! The terminal: taken over at start, always given back (panic hook and drop guard), and
//! lent to the learner's editor in between.

use std::path::Path;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{Clear, ClearType, EnterAlternateScreen, enable_raw_mode};
use ratatui::DefaultTerminal;

/// Restores the terminal however the loop ends.
pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// Raw mode and the alternate screen; a panic restores them (and the mouse) first.
    pub fn enter(mouse: bool) -> TerminalGuard {
        let terminal = ratatui::init();
        // ratatui's hook restores the screen on panic; mouse reporting must go off too.
        let restore_screen = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
            restore_screen(info);
        }));
        set_mouse_capture(mouse);
        TerminalGuard { terminal }
    }

    /// Hand the terminal to the editor on `path` and take it back; whether the editor
    /// exited cleanly.
    pub async fn edit(&mut self, path: &Path, mouse: bool) -> bool {
        if mouse {
            set_mouse_capture(false);
        }
        ratatui::restore();
        let status = match editor_command(path) {
            Some(mut cmd) => cmd.status().await.is_ok_and(|s| s.success()),
            None => false,
        };
        let _ = enable_raw_mode();
        let _ = crossterm::execute!(std::io::stdout(), EnterAlternateScreen);
        if mouse {
            set_mouse_capture(true);
        }
        // Not `terminal.clear()`: it first asks the terminal where the cursor is, and when
        // the answer does not come back it gives up without forgetting the last frame, so
        // the next one would draw only what changed onto a blank screen. Wipe the screen
        // and forget both buffers instead: the next frame is drawn whole.
        let _ = crossterm::execute!(std::io::stdout(), Clear(ClearType::All));
        self.terminal.swap_buffers();
        self.terminal.swap_buffers();
        status
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        set_mouse_capture(false);
        ratatui::restore();
    }
}

pub fn set_mouse_capture(on: bool) {
    let _ = if on {
        crossterm::execute!(std::io::stdout(), EnableMouseCapture)
    } else {
        crossterm::execute!(std::io::stdout(), DisableMouseCapture)
    };
}

/// `$VISUAL`, else `$EDITOR` (vi by default), split as a shell would (`code --wait`,
/// quoted paths), with the file as its last argument.
fn editor_command(path: &Path) -> Option<tokio::process::Command> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_owned());
    let words = shell_words::split(&editor).ok()?;
    let (program, args) = words.split_first()?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).arg(path);
    Some(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_line_is_split_like_a_shell_would() {
        // SAFETY: this test is the only one in the crate that touches these variables.
        unsafe {
            std::env::remove_var("VISUAL");
            std::env::set_var("EDITOR", "'my editor' --wait -n");
        }
        let cmd = editor_command(Path::new("/lab/nginx.conf")).unwrap();
        let std = cmd.as_std();
        assert_eq!(std.get_program(), "my editor");
        let args: Vec<_> = std.get_args().collect();
        assert_eq!(args, ["--wait", "-n", "/lab/nginx.conf"]);
    }
}
