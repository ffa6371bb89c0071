//! `kefu.v1.Calls`: list, get and hang up calls, and watch live call events.

use std::pin::Pin;
use std::sync::Arc;

use tokio_stream::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tonic::{Request, Response, Status};

use crate::api::proto;
use crate::runtime::live::CallCommand;
use crate::runtime::server::Shared;
use crate::store::{CallRecord, ListFilter, StoreError};

pub struct CallsApi {
    shared: Arc<Shared>,
}

impl CallsApi {
    pub fn new(shared: Arc<Shared>) -> Self {
        CallsApi { shared }
    }
}

fn to_proto(r: CallRecord) -> proto::Call {
    proto::Call {
        id: r.id,
        sip_call_id: r.sip_call_id,
        direction: r.direction.as_str().into(),
        from: r.from,
        to: r.to,
        started_at: r.started_at,
        answered_at: r.answered_at.unwrap_or_default(),
        ended_at: r.ended_at.unwrap_or_default(),
        end_cause: r.end_cause.unwrap_or_default(),
        codec: r.codec.unwrap_or_default(),
        digits: r.digits,
        flow_path: r.flow_path,
        recording: r.recording.unwrap_or_default(),
        events: r
            .events
            .into_iter()
            .map(|e| proto::TimelineEntry {
                at: e.at,
                kind: e.kind,
                detail: e.detail,
            })
            .collect(),
    }
}

fn status(e: StoreError) -> Status {
    match e {
        StoreError::NotFound { .. } => Status::not_found(e.to_string()),
        StoreError::AmbiguousId { .. } => Status::invalid_argument(e.to_string()),
        other => Status::internal(other.to_string()),
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<proto::CallEvent, Status>> + Send>>;

#[tonic::async_trait]
impl proto::calls_server::Calls for CallsApi {
    async fn list_calls(
        &self,
        request: Request<proto::ListCallsRequest>,
    ) -> Result<Response<proto::ListCallsResponse>, Status> {
        let req = request.into_inner();
        let filter = ListFilter {
            limit: if req.limit == 0 {
                50
            } else {
                req.limit.min(10_000)
            },
            live_only: req.live_only,
            ..Default::default()
        };
        let calls = self
            .shared
            .store
            .list_calls(&filter)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ListCallsResponse {
            calls: calls.into_iter().map(to_proto).collect(),
        }))
    }

    async fn get_call(
        &self,
        request: Request<proto::GetCallRequest>,
    ) -> Result<Response<proto::Call>, Status> {
        let id = request.into_inner().id;
        let call = self.shared.store.get_call(&id).await.map_err(status)?;
        Ok(Response::new(to_proto(call)))
    }

    async fn hangup_call(
        &self,
        request: Request<proto::HangupCallRequest>,
    ) -> Result<Response<proto::HangupCallResponse>, Status> {
        let given = request.into_inner().id;
        let call = self.shared.store.get_call(&given).await.map_err(status)?;
        if call.ended_at.is_some() {
            return Err(Status::failed_precondition(format!(
                "call {} has already ended",
                call.id
            )));
        }
        let hung_up = self.shared.live.command(
            &call.id,
            CallCommand::Hangup {
                cause: "api.hangup",
            },
        );
        Ok(Response::new(proto::HangupCallResponse { hung_up }))
    }

    type WatchCallsStream = EventStream;

    async fn watch_calls(
        &self,
        _request: Request<proto::WatchCallsRequest>,
    ) -> Result<Response<Self::WatchCallsStream>, Status> {
        let events = BroadcastStream::new(self.shared.live.subscribe()).filter_map(|e| {
            // A slow watcher misses events rather than slowing calls down.
            e.ok().map(|e| {
                Ok(proto::CallEvent {
                    call_id: e.call_id,
                    at: e.at,
                    kind: e.kind,
                    detail: e.detail,
                })
            })
        });
        Ok(Response::new(Box::pin(events)))
    }
}
