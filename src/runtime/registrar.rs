//! REGISTER from agent phones: digest authentication against `[[agents]]` in kefu.toml, then the
//! bindings of [`crate::sip::registrar`].

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;

use crate::runtime::server::Shared;
use crate::sip::digest::{DigestAnswer, DigestError};
use crate::sip::registrar::{MIN_EXPIRES_S, RegisterOutcome, RegisterRequest};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub async fn handle(shared: &Shared, mut tx: Transaction) {
    let now_s = unix_now();
    let req = &tx.original;
    let authorization = req.headers.iter().find_map(|h| match h {
        Header::Authorization(a) => Some(a.value().to_owned()),
        _ => None,
    });
    let challenge = |stale: bool| {
        vec![Header::WwwAuthenticate(
            shared.digest.challenge(now_s, stale).into(),
        )]
    };
    let Some(authorization) = authorization else {
        let _ = tx
            .reply_with(StatusCode::Unauthorized, challenge(false), None)
            .await;
        return;
    };
    let answer = match DigestAnswer::parse(&authorization) {
        Ok(a) => a,
        Err(_) => {
            let _ = tx.reply(StatusCode::BadRequest).await;
            return;
        }
    };
    let agent = req
        .to_header()
        .ok()
        .and_then(|t| t.uri().ok())
        .and_then(|u| u.user().map(str::to_owned));
    let password_of = |user: &str| {
        shared
            .config
            .server
            .agents
            .iter()
            .find(|a| a.name == user)
            .map(|a| a.password.clone())
    };
    match shared
        .digest
        .verify(&answer, "REGISTER", now_s, password_of)
    {
        Ok(()) => {}
        Err(DigestError::Stale) => {
            let _ = tx
                .reply_with(StatusCode::Unauthorized, challenge(true), None)
                .await;
            return;
        }
        Err(e) => {
            tracing::warn!(user = %answer.username, error = ?e, "REGISTER refused");
            let _ = tx.reply(StatusCode::Forbidden).await;
            return;
        }
    }
    // An agent may only register its own name (RFC 3261 §10.3 step 6).
    if agent.as_deref() != Some(answer.username.as_str()) {
        let _ = tx.reply(StatusCode::Forbidden).await;
        return;
    }
    let expires_header = req.headers.iter().find_map(|h| match h {
        Header::Expires(e) => e.value().trim().parse::<u32>().ok(),
        _ => None,
    });
    let contacts: Vec<String> = req
        .contact_headers()
        .iter()
        .map(|c| c.value().to_owned())
        .collect();
    let request = if contacts.iter().any(|c| c.trim() == "*") {
        RegisterRequest::RemoveAll
    } else if contacts.is_empty() {
        RegisterRequest::Query
    } else {
        RegisterRequest::Bind(
            contacts
                .iter()
                .map(|c| contact_uri_and_expires(c))
                .collect(),
        )
    };
    let outcome = shared
        .registrar
        .lock()
        .expect("registrar lock is never held across a panic")
        .handle(Instant::now(), &answer.username, request, expires_header);
    match outcome {
        RegisterOutcome::Ok(bindings) => {
            tracing::info!(agent = %answer.username, bindings = bindings.len(), "agent registered");
            let headers = bindings
                .into_iter()
                .map(|(uri, left)| Header::Contact(format!("<{uri}>;expires={left}").into()))
                .collect();
            let _ = tx.reply_with(StatusCode::OK, headers, None).await;
        }
        RegisterOutcome::IntervalTooBrief => {
            let headers = vec![Header::MinExpires(MIN_EXPIRES_S.to_string().into())];
            let _ = tx
                .reply_with(StatusCode::IntervalTooBrief, headers, None)
                .await;
        }
    }
}

/// `"Agent" <sip:1001@h:5062;transport=udp>;expires=300` -> (`sip:1001@h:5062;transport=udp`, 300).
fn contact_uri_and_expires(value: &str) -> (String, Option<u32>) {
    let (uri, params) = match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => (&value[a + 1..b], &value[b + 1..]),
        _ => value.split_once(';').unwrap_or((value, "")),
    };
    let expires = params
        .split(';')
        .find_map(|p| p.trim().strip_prefix("expires="))
        .and_then(|e| e.trim().parse().ok());
    (uri.trim().to_owned(), expires)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_contacts() {
        assert_eq!(
            contact_uri_and_expires("\"A\" <sip:1001@127.0.0.1:5062;transport=udp>;expires=300"),
            ("sip:1001@127.0.0.1:5062;transport=udp".into(), Some(300))
        );
        assert_eq!(
            contact_uri_and_expires("<sip:1001@h>"),
            ("sip:1001@h".into(), None)
        );
        assert_eq!(
            contact_uri_and_expires("sip:1001@h;expires=0"),
            ("sip:1001@h".into(), Some(0))
        );
    }
}
