//! The HTTP client every SDK client of one configuration shares: one connection pool, one TLS
//! configuration, and a bound on the calls in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_ec2::config::{HttpClient, SharedHttpClient};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Semaphore;

/// Calls to one endpoint (a service in a Region: `ec2.us-east-1.amazonaws.com`) waiting for
/// their answer at once, per configuration (account).
pub(crate) const CALLS_IN_FLIGHT: usize = 16;

/// One HTTP client for every SDK client made from a configuration. Without it the SDK builds
/// a new one for each client, and haven makes a client per Region and service for each read:
/// on AWS nearly every call opened its own connection and TLS handshake, and each client copied
/// the root certificates (2 MB at the dashboard's first read). It is the client the SDK would
/// have built: rustls with aws-lc, the proxy named by `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, the
/// timeouts of each call's config.
///
/// At most [`CALLS_IN_FLIGHT`] calls to one endpoint wait for their answer at once; the others
/// wait for a turn (within their attempt's timeout). Unbounded, each call of a burst opened a
/// connection of its own (hyper's buffers and channel each), and AWS throttles bursts per
/// account and Region ("Request throttling for the Amazon EC2 API": describes refill at 20 a
/// second). Turns are per endpoint, the way AWS throttles and the way the pool keeps
/// connections: an endpoint that hangs holds its own turns only.
pub(crate) fn shared_http_client() -> SharedHttpClient {
    let pooled = Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    });
    SharedHttpClient::new(Bounded {
        inner: pooled,
        turns: Arc::default(),
    })
}

/// Each endpoint's turns, by host and port.
type Turns = Arc<Mutex<HashMap<Option<(String, u16)>, Arc<Semaphore>>>>;

/// An HTTP client whose calls take a turn from their endpoint's count.
#[derive(Debug)]
struct Bounded {
    inner: SharedHttpClient,
    turns: Turns,
}

impl HttpClient for Bounded {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BoundedConnector {
            inner: self.inner.http_connector(settings, components),
            turns: Arc::clone(&self.turns),
        })
    }
}

#[derive(Debug)]
struct BoundedConnector {
    inner: SharedHttpConnector,
    turns: Turns,
}

impl HttpConnector for BoundedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let endpoint = crate::reach::host_and_port(request.uri());
        let turns = {
            let mut all = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
            let turns = all
                .entry(endpoint)
                .or_insert_with(|| Arc::new(Semaphore::new(CALLS_IN_FLIGHT)));
            Arc::clone(turns)
        };
        HttpConnectorFuture::new(async move {
            // The semaphore is never closed: a turn always comes.
            let _turn = turns.acquire_owned().await;
            inner.call(request).await
        })
    }
}
