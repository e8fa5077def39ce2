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
/// their answer at once, per configuration (account). Behind an endpoint override (moto,
/// LocalStack, a proxy), where every service of every Region has one address, each service in
/// each Region still has its own count: the signature's credential scope names them.
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

/// Each endpoint's turns, by host and port and the Region and service signed for.
type Turns = Arc<Mutex<HashMap<Endpoint, Arc<Semaphore>>>>;

/// Where a call goes: host and port, and the `region/service` of its SigV4 credential scope
/// (`None` for calls not signed so, e.g. the IAM Identity Center portal's bearer token).
type Endpoint = (Option<(String, u16)>, Option<String>);

/// The `region/service` a request is signed for: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`
/// in its `Authorization` header.
fn credential_scope(request: &HttpRequest) -> Option<String> {
    let authorization = request.headers().get("authorization")?;
    let credential = authorization.split("Credential=").nth(1)?;
    let mut scope = credential.split(['/', ',']).skip(2);
    let (region, service) = (scope.next()?, scope.next()?);
    Some(format!("{region}/{service}"))
}

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
        let endpoint = (
            crate::reach::host_and_port(request.uri()),
            credential_scope(&request),
        );
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_config::SdkConfig;
    use aws_sdk_ec2::config::Credentials;

    use super::CALLS_IN_FLIGHT;
    use crate::context::{AwsContext, ConnectOptions, Timeouts, loader};

    /// On AWS a new connection is a TCP and TLS handshake: the clients haven makes per Region
    /// and per read share one pool.
    #[tokio::test]
    async fn clients_made_from_one_configuration_share_their_connections() {
        let endpoint = haven_testkit::scripted::ScriptedEndpoint::serve(|_| empty_vpcs());
        let ctx = AwsContext::from_sdk_config(sdk_config(endpoint.url()).await);
        for region in ["us-east-1", "us-east-1", "eu-west-1", "ap-northeast-2"] {
            let answer = ctx.ec2(region).describe_vpcs().send().await;
            assert!(answer.is_ok(), "{answer:?}");
        }
        assert_eq!(endpoint.connections(), 1);
    }

    /// A dashboard read sends a hundred calls at once: each would open a connection and hold
    /// its answer at the same time, and AWS throttles the burst.
    #[tokio::test]
    async fn calls_in_flight_are_bounded_and_all_answered() {
        let endpoint = haven_testkit::scripted::ScriptedEndpoint::serve(|_| {
            std::thread::sleep(Duration::from_millis(50));
            empty_vpcs()
        });
        let ctx = AwsContext::from_sdk_config(sdk_config(endpoint.url()).await);
        let calls = (0..3 * CALLS_IN_FLIGHT).map(|_| ctx.ec2("us-east-1").describe_vpcs().send());
        let answers = futures::future::join_all(calls).await;
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert_eq!(endpoint.requests().len(), answers.len());
        assert!(
            endpoint.most_in_flight() <= CALLS_IN_FLIGHT,
            "{} calls in flight at once",
            endpoint.most_in_flight()
        );
        assert!(endpoint.connections() <= CALLS_IN_FLIGHT + 2);
    }

    /// Turns are per endpoint: a Region whose endpoint hangs (an outage) keeps every turn of
    /// its own, and the other Regions' calls go on.
    #[tokio::test(flavor = "multi_thread")]
    async fn an_endpoint_that_hangs_does_not_hold_up_another() {
        let hanging = haven_testkit::scripted::ScriptedEndpoint::serve(|_| {
            std::thread::sleep(Duration::from_secs(2));
            empty_vpcs()
        });
        let healthy = haven_testkit::scripted::ScriptedEndpoint::serve(|_| empty_vpcs());
        let sdk = sdk_config(hanging.url()).await;
        let other = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&sdk)
                .endpoint_url(healthy.url())
                .build(),
        );
        one_hangs_the_other_answers(&hanging, aws_sdk_ec2::Client::new(&sdk), other).await;
    }

    /// Behind one address (moto, LocalStack, a proxy) the Regions still have turns of their
    /// own, as they have on AWS: one whose calls hang does not hold up another's.
    #[tokio::test(flavor = "multi_thread")]
    async fn behind_one_endpoint_a_region_that_hangs_does_not_hold_up_another() {
        let endpoint = haven_testkit::scripted::ScriptedEndpoint::serve(|request| {
            let signed_for_down = request
                .header("authorization")
                .is_some_and(|a| a.contains("/eu-west-1/ec2/"));
            if signed_for_down {
                std::thread::sleep(Duration::from_secs(2));
            }
            empty_vpcs()
        });
        let ctx = AwsContext::from_sdk_config(sdk_config(endpoint.url()).await);
        one_hangs_the_other_answers(&endpoint, ctx.ec2("eu-west-1"), ctx.ec2("us-east-1")).await;
    }

    /// With `slow`'s calls holding every turn of theirs at `hanging`, a call of `other` is
    /// answered before any of them.
    async fn one_hangs_the_other_answers(
        hanging: &haven_testkit::scripted::ScriptedEndpoint,
        slow: aws_sdk_ec2::Client,
        other: aws_sdk_ec2::Client,
    ) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let answered = Arc::new(AtomicUsize::new(0));
        let calls: Vec<_> = (0..CALLS_IN_FLIGHT + 4)
            .map(|_| {
                let (slow, answered) = (slow.clone(), Arc::clone(&answered));
                tokio::spawn(async move {
                    let answer = slow.describe_vpcs().send().await;
                    answered.fetch_add(1, Ordering::SeqCst);
                    answer.is_ok()
                })
            })
            .collect();
        while hanging.most_in_flight() < CALLS_IN_FLIGHT {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let answer = other.describe_vpcs().send().await;
        assert!(answer.is_ok(), "{answer:?}");
        assert_eq!(
            answered.load(Ordering::SeqCst),
            0,
            "the healthy endpoint's call waited for the hanging one's"
        );
        for call in calls {
            assert!(call.await.expect("call"));
        }
    }

    fn empty_vpcs() -> (u16, String) {
        let xml = "<DescribeVpcsResponse><requestId>r</requestId><vpcSet/></DescribeVpcsResponse>";
        (200, xml.to_string())
    }

    /// The configuration `load` builds, pointed at `url`, with static credentials.
    async fn sdk_config(url: &str) -> SdkConfig {
        let options = ConnectOptions {
            region: Some("us-east-1".into()),
            endpoint_url: Some(url.to_string()),
            ..ConnectOptions::default()
        };
        loader(&options, &Timeouts::STANDARD)
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load()
            .await
    }
}
