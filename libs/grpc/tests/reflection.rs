//! Tools discover the APIs whichever reflection version they speak: grpcurl asks v1, Python's
//! grpcio-reflection, Evans and Postman still ask v1alpha.

use futures::StreamExt;
use gridcase_grpc::serve_grpc;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic_reflection::pb::{v1, v1alpha};

async fn start() -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_grpc(
        listener,
        Routes::default(),
        &[],
        ready(),
        async {
            let _ = stopped.await;
        },
    ));
    (url, stop)
}

#[tokio::test]
async fn both_reflection_versions_list_every_gridcase_api() {
    let (url, _stop) = start().await;
    let expected = [
        "gridcase.intake.v1.Intake",
        "gridcase.triage.v1.Triage",
        "gridcase.dispatch.v1.Dispatch",
        "gridcase.supervision.v1.Supervision",
        "gridcase.evaluation.v1.Evaluation",
        "gridcase.query.v1.Query",
        "gridcase.store.v1.StoreAdmin",
        "grpc.health.v1.Health",
    ];

    let channel = tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut replies = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.next().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        reply.message_response
    else {
        panic!("v1 answered {reply:?}");
    };
    let v1_names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();

    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut replies = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.next().await.unwrap().unwrap();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        reply.message_response
    else {
        panic!("v1alpha answered {reply:?}");
    };
    let v1alpha_names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();

    for name in expected {
        assert!(
            v1_names.iter().any(|n| n == name),
            "v1 lacks {name}: {v1_names:?}"
        );
        assert!(
            v1alpha_names.iter().any(|n| n == name),
            "v1alpha lacks {name}: {v1alpha_names:?}"
        );
    }
}

/// Readiness that stays `Ok`.
fn ready() -> gridcase_grpc::Readiness {
    tokio::sync::watch::channel(Ok(())).1
}
