//! The HTTP listener: `/healthz`, `/metrics` (Prometheus), and the gRPC service `kefu.v1.Calls`
//! (proto/kefu/v1/calls.proto), reachable over plain gRPC and gRPC-web on the same port.

pub mod calls;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use crate::runtime::server::Shared;

/// Generated from proto/kefu/v1/calls.proto by build.rs.
pub mod proto {
    tonic::include_proto!("kefu.v1");
}

pub fn router(shared: Arc<Shared>) -> Router {
    let grpc = tonic::service::Routes::new(
        tower::ServiceBuilder::new()
            .layer(tonic_web::GrpcWebLayer::new())
            .service(proto::calls_server::CallsServer::new(calls::CallsApi::new(
                shared.clone(),
            ))),
    )
    .prepare()
    .into_axum_router();
    let plain = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(shared);
    grpc.merge(plain)
}

async fn healthz(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
) -> (StatusCode, String) {
    let draining = shared
        .admission
        .lock()
        .map(|a| a.is_draining())
        .unwrap_or(true);
    if draining {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n".into())
    } else {
        (
            StatusCode::OK,
            format!("ok\nlive_calls {}\n", shared.live.len()),
        )
    }
}

async fn metrics(axum::extract::State(shared): axum::extract::State<Arc<Shared>>) -> String {
    shared.metrics.render()
}
