//! The one place the tutor's effects are performed. Each returns at most one message,
//! which the loop feeds back to `update` in turn: no effect calls `update` itself.

use tokio::sync::mpsc;

use super::app::{Effect, Msg};
use super::overlays::restore;
use super::requests;
use super::terminal::{TerminalGuard, set_mouse_capture};
use crate::control::Command;
use crate::lessons::progress::Store;
use crate::stack::children::StackCmd;
use crate::stack::describe;
use crate::trace::Process;

pub struct Executor {
    pub screen: TerminalGuard,
    pub stack: mpsc::Sender<StackCmd>,
    /// Where background work (a request on its way) reports when it is done.
    pub tx: mpsc::Sender<Msg>,
    pub store: Store,
    /// Whether the mouse is captured now (the editor must not get its reports).
    pub mouse: bool,
}

impl Executor {
    pub async fn perform(&mut self, effect: Effect) -> Option<Msg> {
        match effect {
            Effect::Quit => None,
            Effect::Control(process, command) => {
                self.to_stack(StackCmd::Control(process, command)).await
            }
            Effect::StopWsgi => self.to_stack(StackCmd::StopWsgi).await,
            Effect::StartWsgi { app, workers } => {
                self.to_stack(StackCmd::StartWsgi { app, workers }).await
            }
            Effect::SendRequest { spec, port } => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result = requests::send(&spec, port).await;
                    let label = format!("{} {}", spec.method, spec.target);
                    let _ = tx.send(Msg::RequestDone { label, result }).await;
                });
                None
            }
            Effect::SaveProgress(progress) => self.store.save(&progress).err().map(|err| {
                tracing::warn!(path = %self.store.path().display(), "cannot save progress: {err}");
                Msg::Notice(format!(
                    "cannot save your progress to {}: {err}",
                    self.store.path().display()
                ))
            }),
            Effect::ScanRestorable { lab } => Some(Msg::RestoreScanned(restore::scan(&lab))),
            Effect::RestoreFile { lab, relative } => Some(self.restore(&lab, &relative).await),
            Effect::SetMouseCapture(on) => {
                self.mouse = on;
                set_mouse_capture(on);
                None
            }
            Effect::Edit { path, target } => {
                let ok = self.screen.edit(&path, self.mouse).await;
                Some(Msg::EditorDone { target, ok })
            }
        }
    }

    async fn to_stack(&self, cmd: StackCmd) -> Option<Msg> {
        if self.stack.send(cmd).await.is_ok() {
            return None;
        }
        tracing::warn!("a command for the stack found it gone");
        Some(Msg::Notice("the stack is no longer running".into()))
    }

    /// Write the original over the learner's copy; the server that reads it reloads.
    async fn restore(&self, lab_dir: &std::path::Path, relative: &str) -> Msg {
        let lab = crate::lab::Lab::prepare(Some(lab_dir.to_path_buf()));
        let Some(original) = lab.ok().and_then(|lab| lab.original(relative)) else {
            return Msg::Notice(format!("{relative} has no original to restore"));
        };
        let path = lab_dir.join(relative);
        if let Err(e) = std::fs::write(&path, original) {
            return Msg::Notice(format!("cannot write {}: {e}", path.display()));
        }
        let server = match relative {
            "nginx.conf" => Process::WebServer,
            r if r.starts_with("apps/") => Process::WsgiServer,
            _ => return Msg::Notice(format!("{relative} restored")),
        };
        if let Some(notice) = self
            .to_stack(StackCmd::Control(server, Command::Reload))
            .await
        {
            return notice;
        }
        Msg::Notice(format!(
            "{relative} restored; the {} reloads it",
            describe(server)
        ))
    }
}
