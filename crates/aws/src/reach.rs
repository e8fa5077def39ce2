//! Whether an endpoint can be reached at all, as the operating system sees it: a refused,
//! unresolvable or unreachable endpoint is named at once, in the OS's words, instead of after
//! the SDK's retries and timeout as "timed out".

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long a TCP connection may take before the endpoint counts as silent.
const CONNECT: Duration = Duration::from_secs(3);

/// Why an endpoint cannot be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// The URL has no host.
    NoHost,
    /// The host name does not resolve.
    Unresolved {
        /// `host:port`.
        address: String,
        /// What the resolver said.
        detail: String,
    },
    /// The host answered that nothing listens on the port.
    Refused {
        /// `host:port`.
        address: String,
    },
    /// The OS has no route to the host or network.
    NoRoute {
        /// `host:port`.
        address: String,
        /// What the OS said.
        detail: String,
    },
    /// Nothing answered the connection within [`CONNECT`] (a firewall dropping packets).
    Silent {
        /// `host:port`.
        address: String,
    },
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoHost => write!(f, "the URL names no host"),
            Self::Unresolved { detail, .. } => {
                write!(f, "the host name does not resolve ({detail})")
            }
            Self::Refused { address } => write!(
                f,
                "connection refused: nothing listens at {address} (is the server running, on \
                 that port?)"
            ),
            Self::NoRoute { detail, .. } => write!(f, "unreachable ({detail})"),
            Self::Silent { .. } => write!(
                f,
                "no answer to the connection within {} s (a firewall dropping packets, or a \
                 host that is down)",
                CONNECT.as_secs()
            ),
        }
    }
}

/// Opens (and closes) one TCP connection to the URL's host and port.
pub async fn probe(url: &str) -> Result<(), Unreachable> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || probe_blocking(&url))
        .await
        .unwrap_or(Ok(()))
}

fn probe_blocking(url: &str) -> Result<(), Unreachable> {
    let (host, port) = host_and_port(url).ok_or(Unreachable::NoHost)?;
    let address = format!("{host}:{port}");
    let addresses: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| Unreachable::Unresolved {
            address: address.clone(),
            detail: e.to_string(),
        })?
        .collect();
    let mut last = Unreachable::Unresolved {
        address: address.clone(),
        detail: "no address".into(),
    };
    for socket in addresses {
        match TcpStream::connect_timeout(&socket, CONNECT) {
            Ok(_) => return Ok(()),
            Err(e) => last = classify(&address, &e),
        }
    }
    Err(last)
}

fn classify(address: &str, error: &std::io::Error) -> Unreachable {
    let address = address.to_string();
    match error.kind() {
        ErrorKind::ConnectionRefused => Unreachable::Refused { address },
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Unreachable::Silent { address },
        _ => Unreachable::NoRoute {
            address,
            detail: error.to_string(),
        },
    }
}

/// `http://host:port/path` → (`host`, port), with the scheme's default port; IPv6 in brackets.
pub(crate) fn host_and_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let default = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after.strip_prefix(':').map(str::parse).transpose().ok()?;
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port.parse().ok()?)),
            None => (authority.to_string(), None),
        }
    };
    (!host.is_empty()).then(|| (host, port.unwrap_or(default)))
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn urls_give_their_host_and_port() {
        let cases = [
            ("http://127.0.0.1:5000", Some(("127.0.0.1", 5000))),
            (
                "https://sts.us-east-1.amazonaws.com",
                Some(("sts.us-east-1.amazonaws.com", 443)),
            ),
            ("http://localhost/path?x=1", Some(("localhost", 80))),
            ("http://[::1]:4566/", Some(("::1", 4566))),
            ("http://:80", None),
            ("http://host:notaport", None),
        ];
        for (url, expected) in cases {
            let got = host_and_port(url);
            assert_eq!(
                got.as_ref().map(|(h, p)| (h.as_str(), *p)),
                expected,
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_named_at_once_and_a_listener_passes() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert_eq!(probe(&format!("http://127.0.0.1:{port}")).await, Ok(()));
        drop(listener);
        let error = probe(&format!("http://127.0.0.1:{port}"))
            .await
            .expect_err("nothing listens any more");
        assert_eq!(
            error,
            Unreachable::Refused {
                address: format!("127.0.0.1:{port}")
            }
        );
        assert!(error.to_string().contains("connection refused"), "{error}");
    }
}
