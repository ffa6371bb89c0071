//! Routes every new server transaction: a new INVITE starts a call, OPTIONS is answered for load
//! balancers, requests inside a dialog go to their dialog, and requests for dialogs kefu does
//! not know get 481 (RFC 3261 §12.2.2).

use std::sync::Arc;

use rsipstack::sip::{Header, Method, SipMessage, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::SipAddr;

use crate::runtime::call_task;
use crate::runtime::server::Shared;
use crate::sip::request::is_in_dialog;

/// Methods kefu handles, for Allow headers.
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY, REGISTER";

pub async fn run(shared: Arc<Shared>, mut incoming: TransactionReceiver) {
    while let Some(tx) = incoming.recv().await {
        tokio::spawn(handle(shared.clone(), tx));
    }
}

async fn handle(shared: Arc<Shared>, mut tx: Transaction) {
    let method = tx.original.method;
    if is_in_dialog(&tx.original) {
        match shared.dialog_layer.match_dialog(&tx) {
            Some(mut dialog) => {
                if let Err(e) = dialog.handle(&mut tx).await {
                    tracing::debug!(%method, error = %e, "in-dialog request failed");
                }
            }
            None if method == Method::Ack => {}
            None => reply(&mut tx, StatusCode::CallTransactionDoesNotExist, vec![]).await,
        }
        return;
    }
    match method {
        Method::Invite => call_task::inbound(shared, tx).await,
        Method::Options => {
            let headers = vec![
                Header::Allow(ALLOW.into()),
                Header::Accept("application/sdp".into()),
                Header::Other("Accept-Language".into(), "en".into()),
            ];
            reply(&mut tx, StatusCode::OK, headers).await
        }
        Method::Ack => {}
        Method::Register => crate::runtime::registrar::handle(&shared, tx).await,
        Method::Bye | Method::Info | Method::Refer | Method::Notify | Method::Update => {
            reply(&mut tx, StatusCode::CallTransactionDoesNotExist, vec![]).await
        }
        _ => {
            reply(
                &mut tx,
                StatusCode::MethodNotAllowed,
                vec![Header::Allow(ALLOW.into())],
            )
            .await
        }
    }
}

async fn reply(tx: &mut Transaction, status: StatusCode, headers: Vec<Header>) {
    if let Err(e) = tx.reply_with(status, headers, None).await {
        tracing::debug!(error = %e, "could not send reply");
    }
}

/// Counts every SIP response kefu sends, by status code, for /metrics.
pub struct ResponseCounter;

impl MessageInspector for ResponseCounter {
    fn before_send(&self, msg: SipMessage, _dest: Option<&SipAddr>) -> SipMessage {
        if let SipMessage::Response(r) = &msg {
            metrics::counter!("kefu_sip_responses_total", "code" => u16::from(r.status_code.clone()).to_string())
                .increment(1);
        }
        msg
    }

    fn after_received(&self, msg: SipMessage, _from: Option<&SipAddr>) -> SipMessage {
        if let SipMessage::Request(r) = &msg {
            metrics::counter!("kefu_sip_requests_total", "method" => r.method.to_string())
                .increment(1);
        }
        msg
    }
}
