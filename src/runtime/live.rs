//! The live calls of this node: how to reach each call's task, and the stream of what happens on
//! them (the API's `WatchCalls` and, later, the supervisor console read it).

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

/// Something that happened on a live call.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    pub call_id: String,
    pub at: String,
    /// `started`, `answered`, `digit`, `node`, `transfer`, `hold`, `resume`, `ended`.
    pub kind: String,
    pub detail: String,
}

/// Orders a call task obeys.
#[derive(Debug, Clone)]
pub enum CallCommand {
    /// End the call with this end cause (API hang-up, shutdown after the grace period).
    Hangup { cause: &'static str },
}

pub struct LiveCalls {
    calls: Mutex<HashMap<String, mpsc::Sender<CallCommand>>>,
    events: broadcast::Sender<LiveEvent>,
}

impl Default for LiveCalls {
    fn default() -> Self {
        LiveCalls {
            calls: Mutex::new(HashMap::new()),
            events: broadcast::channel(1024).0,
        }
    }
}

impl LiveCalls {
    pub fn insert(&self, id: &str, commands: mpsc::Sender<CallCommand>) {
        self.lock().insert(id.to_owned(), commands);
        metrics::gauge!("kefu_active_calls").increment(1.0);
    }

    pub fn remove(&self, id: &str) {
        if self.lock().remove(id).is_some() {
            metrics::gauge!("kefu_active_calls").decrement(1.0);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends `command` to one call; false if it is not live here.
    pub fn command(&self, id: &str, command: CallCommand) -> bool {
        let sender = self.lock().get(id).cloned();
        sender.is_some_and(|s| s.try_send(command).is_ok())
    }

    /// Sends `command` to every live call.
    pub fn command_all(&self, command: CallCommand) {
        let senders: Vec<_> = self.lock().values().cloned().collect();
        for s in senders {
            let _ = s.try_send(command.clone());
        }
    }

    pub fn publish(&self, event: LiveEvent) {
        // No subscriber is normal; events are a live view, not a log (the store is the log).
        let _ = self.events.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.events.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<CallCommand>>> {
        self.calls
            .lock()
            .expect("live-call map lock is never held across a panic")
    }
}
