//! The client of the merchant's live order system (`[merchant]` in kefu.toml), asked for the
//! orders and customers the local shop does not hold, so a shop need not copy its data.
//!
//! Each lookup is a GET of a configured URL template (`{order}` or `{phone}` filled in,
//! percent-encoded); the answer's format is `shop::merchant`'s. 404 means "no such order or
//! customer"; every other failure (timeout, refused connection, another status, an answer that
//! fails the checks) is an [`ApiError`] the caller apologises for. Answers are cached for
//! `cache_s`; failures are not. Blocking (ureq): lookups run on the blocking pool, never on a
//! call task.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::MerchantSection;
use crate::shop::ShopData;
use crate::shop::merchant::{fill, records};

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No answer within the timeout, or no connection.
    Unreachable { url: String, detail: String },
    /// An HTTP status other than 200 and 404.
    Status { url: String, status: u16 },
    /// An answer that is not the records it should be.
    BadAnswer { url: String, detail: String },
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Unreachable { url, detail } => write!(f, "{url}: unreachable: {detail}"),
            ApiError::Status { url, status } => write!(f, "{url}: HTTP status {status}"),
            ApiError::BadAnswer { url, detail } => write!(f, "{url}: bad answer: {detail}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// A client of the merchant's API, shared by every call.
pub struct MerchantApi {
    config: MerchantSection,
    agent: ureq::Agent,
    cache: Mutex<HashMap<String, (Instant, Option<ShopData>)>>,
}

impl MerchantApi {
    pub fn new(config: MerchantSection) -> MerchantApi {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(config.timeout_ms)))
            .http_status_as_error(false)
            .build()
            .into();
        MerchantApi {
            config,
            agent,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether orders can be looked up by number.
    pub fn finds_orders(&self) -> bool {
        self.config.order_url.is_some()
    }

    /// Whether customers (with their orders) can be looked up by phone number.
    pub fn finds_customers(&self) -> bool {
        self.config.customer_url.is_some()
    }

    /// The order `number` and what goes with it; `None` if the merchant has no such order.
    pub fn order(&self, number: &str) -> Result<Option<ShopData>, ApiError> {
        let Some(template) = &self.config.order_url else {
            return Ok(None);
        };
        let found = self.get(&fill(template, "{order}", number))?;
        match found {
            Some(data) if !data.orders.iter().any(|o| o.number == number) => {
                Err(ApiError::BadAnswer {
                    url: fill(template, "{order}", number),
                    detail: format!("200 without order {number} in `orders`"),
                })
            }
            found => Ok(found),
        }
    }

    /// The customer whose phone is `phone`, with their orders; `None` if there is none.
    pub fn customer(&self, phone: &str) -> Result<Option<ShopData>, ApiError> {
        let Some(template) = &self.config.customer_url else {
            return Ok(None);
        };
        self.get(&fill(template, "{phone}", phone))
    }

    fn get(&self, url: &str) -> Result<Option<ShopData>, ApiError> {
        let ttl = Duration::from_secs(self.config.cache_s);
        if let Some((at, data)) = self.cached(url)
            && at.elapsed() < ttl
        {
            return Ok(data);
        }
        let found = self.fetch(url)?;
        if !ttl.is_zero() {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= 10_000 {
                cache.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            cache.insert(url.to_owned(), (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    fn cached(&self, url: &str) -> Option<(Instant, Option<ShopData>)> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(url).cloned()
    }

    fn fetch(&self, url: &str) -> Result<Option<ShopData>, ApiError> {
        let unreachable = |e: ureq::Error| ApiError::Unreachable {
            url: url.to_owned(),
            detail: e.to_string(),
        };
        let mut request = self.agent.get(url).header("Accept", "application/json");
        for (name, value) in &self.config.headers {
            request = request.header(name, value);
        }
        let mut response = request.call().map_err(unreachable)?;
        match response.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            status => {
                return Err(ApiError::Status {
                    url: url.to_owned(),
                    status,
                });
            }
        }
        let text = response
            .body_mut()
            .with_config()
            .limit(4 << 20)
            .read_to_string()
            .map_err(unreachable)?;
        records(&text)
            .map(Some)
            .map_err(|detail| ApiError::BadAnswer {
                url: url.to_owned(),
                detail,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a merchant's system answers for order 77001.
    const ORDER: &str = include_str!("../../tests/data/merchant-77001.json");

    /// A merchant's API on loopback: answers by path, counts requests, and keeps `/slow/`
    /// waiting past any timeout.
    struct FakeApi {
        url: String,
        hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl FakeApi {
        fn start() -> FakeApi {
            use std::io::{BufRead, BufReader, Write};
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let url = format!("http://{}", listener.local_addr().expect("addr"));
            let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let counter = hits.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut request = String::new();
                    let _ = reader.read_line(&mut request);
                    let mut header = String::new();
                    let mut auth = false;
                    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                        auth |= header
                            .to_ascii_lowercase()
                            .starts_with("authorization: bearer t0k");
                        header.clear();
                    }
                    let path = request.split(' ').nth(1).unwrap_or("").to_owned();
                    let (status, body) = match path.as_str() {
                        _ if !auth => ("401 Unauthorized", String::new()),
                        "/orders/77001" => ("200 OK", ORDER.to_owned()),
                        "/orders/66001" => ("200 OK", "{\"orders\": [".to_owned()),
                        "/orders/55001" => ("500 Internal Server Error", String::new()),
                        "/orders/44001" => ("200 OK", ORDER.to_owned()),
                        p if p.starts_with("/slow/") => {
                            std::thread::sleep(Duration::from_secs(2));
                            ("200 OK", ORDER.to_owned())
                        }
                        _ => ("404 Not Found", String::new()),
                    };
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
            FakeApi { url, hits }
        }

        fn client(&self, order_path: &str, cache_s: u64) -> MerchantApi {
            MerchantApi::new(MerchantSection {
                order_url: Some(format!("{}{order_path}", self.url)),
                customer_url: None,
                timeout_ms: 400,
                cache_s,
                headers: [("Authorization".to_owned(), "Bearer t0k".to_owned())].into(),
            })
        }

        fn hits(&self) -> usize {
            self.hits.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[test]
    fn a_live_order_is_fetched_and_cached_and_failures_are_named() {
        let api = FakeApi::start();
        let client = api.client("/orders/{order}", 60);
        assert!(client.finds_orders() && !client.finds_customers());

        let found = client.order("77001").expect("answered").expect("found");
        assert_eq!(found.orders[0].number, "77001");
        assert_eq!(found.shipments.len(), 1);
        client.order("77001").expect("cached");
        assert_eq!(api.hits(), 1, "the second lookup comes from the cache");

        assert_eq!(client.order("12345"), Ok(None), "404 is no such order");
        client.order("12345").expect("cached");
        assert_eq!(api.hits(), 2, "a 404 is cached too");

        let e = client.order("55001").unwrap_err();
        assert!(matches!(e, ApiError::Status { status: 500, .. }), "{e}");
        let e = client.order("66001").unwrap_err();
        assert!(e.to_string().contains("not valid JSON"), "{e}");
        let e = client.order("44001").unwrap_err();
        assert!(e.to_string().contains("without order 44001"), "{e}");
        // Failures are asked again, not cached.
        let before = api.hits();
        client.order("55001").unwrap_err();
        assert_eq!(api.hits(), before + 1);

        let started = Instant::now();
        let slow = api.client("/slow/{order}", 60);
        let e = slow.order("77001").unwrap_err();
        assert!(matches!(e, ApiError::Unreachable { .. }), "{e}");
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "the timeout holds"
        );

        let bare = MerchantApi::new(MerchantSection {
            order_url: Some(format!("{}/orders/{{order}}", api.url)),
            ..MerchantSection::default()
        });
        let e = bare.order("77001").unwrap_err();
        assert!(
            matches!(e, ApiError::Status { status: 401, .. }),
            "headers are sent"
        );
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let client = MerchantApi::new(MerchantSection {
            order_url: Some(format!("http://127.0.0.1:{port}/o/{{order}}")),
            ..MerchantSection::default()
        });
        let e = client.order("1").unwrap_err();
        assert!(matches!(e, ApiError::Unreachable { .. }), "{e}");
        assert!(e.to_string().starts_with("http://127.0.0.1:"), "{e}");
    }
}
