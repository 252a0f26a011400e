//! Things done to the stack (a reload, a restart, a new worker count, another app) and
//! the event tasks that wait for them.

use serde::Deserialize;

/// Things done to the stack that event tasks wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ConfigReloaded,
    WsgiStopped,
    WsgiStarted,
    WorkersChanged,
    AppSwitched,
    AppReloaded,
}

/// One such thing, as it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub kind: EventKind,
    /// For a reload: whether the new configuration was taken.
    pub ok: bool,
    pub workers: Option<usize>,
    pub app: Option<String>,
}

/// An event task's condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventExpect {
    pub kind: EventKind,
    pub ok: Option<bool>,
    pub workers: Option<usize>,
    pub app: Option<String>,
}

impl EventExpect {
    pub fn matches(&self, event: &StackEvent) -> bool {
        event.kind == self.kind
            && (self.kind != EventKind::ConfigReloaded || event.ok == self.ok.unwrap_or(true))
            && self.workers.is_none_or(|n| event.workers == Some(n))
            && self
                .app
                .as_deref()
                .is_none_or(|part| event.app.as_deref().is_some_and(|a| a.contains(part)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_predicates() {
        let reload = EventExpect {
            kind: EventKind::ConfigReloaded,
            ok: None,
            workers: None,
            app: None,
        };
        let happened = |ok| StackEvent {
            kind: EventKind::ConfigReloaded,
            ok,
            workers: None,
            app: None,
        };
        assert!(reload.matches(&happened(true)));
        assert!(!reload.matches(&happened(false)));
        let refused = EventExpect {
            ok: Some(false),
            ..reload.clone()
        };
        assert!(refused.matches(&happened(false)));
        let workers = EventExpect {
            kind: EventKind::WorkersChanged,
            ok: None,
            workers: Some(4),
            app: None,
        };
        let changed = |n| StackEvent {
            kind: EventKind::WorkersChanged,
            ok: true,
            workers: Some(n),
            app: None,
        };
        assert!(workers.matches(&changed(4)) && !workers.matches(&changed(3)));
    }
}
