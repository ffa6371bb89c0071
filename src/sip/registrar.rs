//! Where agent phones are (RFC 3261 §10.3): the registrar's bindings from an agent name to the
//! Contact its phone registered, with expiry. Sans-IO; authentication is [`super::digest`]'s.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Shortest registration accepted; shorter requests get 423 Interval Too Brief (§10.3 step 7).
pub const MIN_EXPIRES_S: u32 = 60;
/// Longest registration granted; longer requests are shortened.
pub const MAX_EXPIRES_S: u32 = 3600;
/// Granted when the phone asks for nothing.
pub const DEFAULT_EXPIRES_S: u32 = 3600;

/// One registered contact of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI to send INVITEs to, e.g. `sip:1001@127.0.0.1:5062`.
    pub contact: String,
    pub expires_at: Instant,
}

/// What a REGISTER asks for, read from its Contact and Expires headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterRequest {
    /// `Contact: *` with `Expires: 0`: remove every binding.
    RemoveAll,
    /// Bind these contacts, each with the expiry it asked for (None = the Expires header or default).
    Bind(Vec<(String, Option<u32>)>),
    /// No Contact: just list the current bindings.
    Query,
}

/// What the registrar answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// 200 OK listing the bindings now in force, with seconds left.
    Ok(Vec<(String, u32)>),
    /// 423 Interval Too Brief with Min-Expires.
    IntervalTooBrief,
}

#[derive(Default)]
pub struct Registrar {
    bindings: HashMap<String, Vec<Binding>>,
}

impl Registrar {
    pub fn handle(
        &mut self,
        now: Instant,
        agent: &str,
        request: RegisterRequest,
        expires_header: Option<u32>,
    ) -> RegisterOutcome {
        match request {
            RegisterRequest::RemoveAll => {
                self.bindings.remove(agent);
            }
            RegisterRequest::Query => {}
            RegisterRequest::Bind(contacts) => {
                let asked: Vec<(String, u32)> = contacts
                    .into_iter()
                    .map(|(c, e)| (c, e.or(expires_header).unwrap_or(DEFAULT_EXPIRES_S)))
                    .collect();
                if asked.iter().any(|(_, e)| *e != 0 && *e < MIN_EXPIRES_S) {
                    return RegisterOutcome::IntervalTooBrief;
                }
                let list = self.bindings.entry(agent.to_owned()).or_default();
                for (contact, expires) in asked {
                    list.retain(|b| b.contact != contact);
                    if expires > 0 {
                        let secs = expires.min(MAX_EXPIRES_S);
                        list.push(Binding {
                            contact,
                            expires_at: now + Duration::from_secs(secs.into()),
                        });
                    }
                }
            }
        }
        RegisterOutcome::Ok(self.current(now, agent))
    }

    /// The live contacts of `agent`, newest first, with seconds left.
    pub fn current(&mut self, now: Instant, agent: &str) -> Vec<(String, u32)> {
        let Some(list) = self.bindings.get_mut(agent) else {
            return Vec::new();
        };
        list.retain(|b| b.expires_at > now);
        list.iter()
            .rev()
            .map(|b| {
                (
                    b.contact.clone(),
                    b.expires_at.duration_since(now).as_secs() as u32,
                )
            })
            .collect()
    }

    /// Where to ring `agent` now, if its phone is registered.
    pub fn locate(&mut self, now: Instant, agent: &str) -> Option<String> {
        self.current(now, agent).into_iter().next().map(|(c, _)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_refresh_expire_and_remove() {
        let mut r = Registrar::default();
        let t0 = Instant::now();
        let c = "sip:1001@127.0.0.1:5062".to_owned();
        let out = r.handle(
            t0,
            "1001",
            RegisterRequest::Bind(vec![(c.clone(), None)]),
            Some(120),
        );
        assert_eq!(out, RegisterOutcome::Ok(vec![(c.clone(), 120)]));
        assert_eq!(
            r.locate(t0 + Duration::from_secs(60), "1001"),
            Some(c.clone())
        );
        assert_eq!(
            r.locate(t0 + Duration::from_secs(121), "1001"),
            None,
            "expired"
        );
        r.handle(
            t0,
            "1001",
            RegisterRequest::Bind(vec![(c.clone(), Some(600))]),
            None,
        );
        r.handle(t0, "1001", RegisterRequest::RemoveAll, Some(0));
        assert_eq!(r.locate(t0, "1001"), None);
    }

    #[test]
    fn too_brief_and_too_long() {
        let mut r = Registrar::default();
        let t0 = Instant::now();
        let c = "sip:1001@h".to_owned();
        assert_eq!(
            r.handle(
                t0,
                "1001",
                RegisterRequest::Bind(vec![(c.clone(), Some(10))]),
                None
            ),
            RegisterOutcome::IntervalTooBrief
        );
        let out = r.handle(
            t0,
            "1001",
            RegisterRequest::Bind(vec![(c.clone(), Some(99999))]),
            None,
        );
        assert_eq!(out, RegisterOutcome::Ok(vec![(c, MAX_EXPIRES_S)]));
    }

    #[test]
    fn unregister_one_contact_with_expires_zero() {
        let mut r = Registrar::default();
        let t0 = Instant::now();
        let (a, b) = ("sip:1001@a".to_owned(), "sip:1001@b".to_owned());
        r.handle(
            t0,
            "1001",
            RegisterRequest::Bind(vec![(a.clone(), None), (b.clone(), None)]),
            None,
        );
        r.handle(t0, "1001", RegisterRequest::Bind(vec![(a, Some(0))]), None);
        assert_eq!(r.locate(t0, "1001"), Some(b));
    }
}
