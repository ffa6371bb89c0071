//! HTTP Digest authentication for SIP (RFC 3261 §22.4, RFC 2617 with MD5 and qop=auth), server
//! side: issue a challenge, check an answer.
//!
//! Nonces are stateless: `<issued-at seconds, hex>.<MD5(secret:issued-at)>`, so a restart or a
//! second node with the same secret checks them without a shared table. A nonce is accepted for
//! [`NONCE_LIFETIME_S`]; an older one gets a fresh challenge with `stale=true`.

use std::collections::HashMap;

/// How long a nonce stays good.
pub const NONCE_LIFETIME_S: u64 = 300;

/// Why an Authorization header was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestError {
    /// Not a `Digest` credential, or a required parameter is missing.
    Malformed(&'static str),
    /// Unknown user, or the response hash is wrong.
    Rejected,
    /// The nonce is ours but too old: challenge again with `stale=true`.
    Stale,
    /// The realm or algorithm is not ours.
    WrongRealm,
}

/// The parameters of `Authorization: Digest ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestAnswer {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
    pub algorithm: Option<String>,
}

impl DigestAnswer {
    /// Parses the header value (`Digest username="...", ...`).
    pub fn parse(value: &str) -> Result<DigestAnswer, DigestError> {
        let rest = value
            .trim()
            .strip_prefix("Digest")
            .or_else(|| value.trim().strip_prefix("digest"))
            .ok_or(DigestError::Malformed("not a Digest credential"))?;
        let params = parse_params(rest);
        let get = |k: &'static str| params.get(k).cloned().ok_or(DigestError::Malformed(k));
        Ok(DigestAnswer {
            username: get("username")?,
            realm: get("realm")?,
            nonce: get("nonce")?,
            uri: get("uri")?,
            response: get("response")?,
            qop: params.get("qop").cloned(),
            nc: params.get("nc").cloned(),
            cnonce: params.get("cnonce").cloned(),
            algorithm: params.get("algorithm").cloned(),
        })
    }
}

/// `key=value` or `key="quoted, value"` pairs separated by commas; keys lower-cased.
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.trim().is_empty() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut v = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => v.extend(chars.next()),
                    '"' => break,
                    c => v.push(c),
                }
            }
            v
        } else {
            chars
                .by_ref()
                .take_while(|c| *c != ',')
                .collect::<String>()
                .trim()
                .to_owned()
        };
        out.insert(key.trim().to_ascii_lowercase(), value);
    }
    out
}

fn md5_hex(s: &str) -> String {
    format!("{:x}", md5::compute(s.as_bytes()))
}

/// Issues and checks challenges for one realm.
pub struct DigestAuth {
    realm: String,
    secret: String,
}

impl DigestAuth {
    pub fn new(realm: &str, secret: &str) -> Self {
        DigestAuth {
            realm: realm.to_owned(),
            secret: secret.to_owned(),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// A fresh nonce issued at `now_s` (Unix seconds).
    pub fn nonce(&self, now_s: u64) -> String {
        format!(
            "{now_s:x}.{}",
            md5_hex(&format!("{}:{now_s:x}", self.secret))
        )
    }

    /// The `WWW-Authenticate` value for a 401.
    pub fn challenge(&self, now_s: u64, stale: bool) -> String {
        let stale = if stale { ", stale=true" } else { "" };
        format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"{stale}",
            self.realm,
            self.nonce(now_s)
        )
    }

    /// Checks an answer to our challenge for `method`; `password_of` looks the user up.
    pub fn verify(
        &self,
        answer: &DigestAnswer,
        method: &str,
        now_s: u64,
        password_of: impl Fn(&str) -> Option<String>,
    ) -> Result<(), DigestError> {
        if answer.realm != self.realm
            || answer
                .algorithm
                .as_deref()
                .is_some_and(|a| !a.eq_ignore_ascii_case("MD5"))
        {
            return Err(DigestError::WrongRealm);
        }
        let (issued_hex, _) = answer.nonce.split_once('.').ok_or(DigestError::Rejected)?;
        let issued = u64::from_str_radix(issued_hex, 16).map_err(|_| DigestError::Rejected)?;
        if self.nonce(issued) != answer.nonce {
            return Err(DigestError::Rejected);
        }
        let password = password_of(&answer.username).ok_or(DigestError::Rejected)?;
        let ha1 = md5_hex(&format!("{}:{}:{password}", answer.username, self.realm));
        let ha2 = md5_hex(&format!("{method}:{}", answer.uri));
        let expected = match (&answer.qop, &answer.nc, &answer.cnonce) {
            (Some(qop), Some(nc), Some(cnonce)) if qop == "auth" => {
                md5_hex(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", answer.nonce))
            }
            (None, _, _) => md5_hex(&format!("{ha1}:{}:{ha2}", answer.nonce)),
            _ => return Err(DigestError::Malformed("qop needs nc and cnonce")),
        };
        if !expected.eq_ignore_ascii_case(&answer.response) {
            return Err(DigestError::Rejected);
        }
        // Checked last so a wrong password is never reported as merely stale.
        if now_s.saturating_sub(issued) > NONCE_LIFETIME_S {
            return Err(DigestError::Stale);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5's example, adapted to our nonce format by computing the response here the
    /// way a phone does.
    fn answer_for(auth: &DigestAuth, user: &str, password: &str, nonce: &str) -> DigestAnswer {
        let ha1 = md5_hex(&format!("{user}:{}:{password}", auth.realm()));
        let ha2 = md5_hex("REGISTER:sip:127.0.0.1");
        let response = md5_hex(&format!("{ha1}:{nonce}:00000001:0a4f113b:auth:{ha2}"));
        DigestAnswer {
            username: user.into(),
            realm: auth.realm().into(),
            nonce: nonce.into(),
            uri: "sip:127.0.0.1".into(),
            response,
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("0a4f113b".into()),
            algorithm: Some("MD5".into()),
        }
    }

    fn pw(user: &str) -> Option<String> {
        (user == "1001").then(|| "secret".to_owned())
    }

    #[test]
    fn rfc2617_md5_vector() {
        // RFC 2617 §3.5: Mufasa / "Circle Of Life", qop=auth.
        let ha1 = md5_hex("Mufasa:testrealm@host.com:Circle Of Life");
        let ha2 = md5_hex("GET:/dir/index.html");
        let r = md5_hex(&format!(
            "{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:{ha2}"
        ));
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn good_answer_passes_and_bad_ones_do_not() {
        let auth = DigestAuth::new("kefu", "s3cret");
        let nonce = auth.nonce(1000);
        let good = answer_for(&auth, "1001", "secret", &nonce);
        assert_eq!(auth.verify(&good, "REGISTER", 1010, pw), Ok(()));
        let wrong_pw = answer_for(&auth, "1001", "guess", &nonce);
        assert_eq!(
            auth.verify(&wrong_pw, "REGISTER", 1010, pw),
            Err(DigestError::Rejected)
        );
        let unknown = answer_for(&auth, "9999", "secret", &nonce);
        assert_eq!(
            auth.verify(&unknown, "REGISTER", 1010, pw),
            Err(DigestError::Rejected)
        );
        let forged = answer_for(
            &auth,
            "1001",
            "secret",
            "3e8.00000000000000000000000000000000",
        );
        assert_eq!(
            auth.verify(&forged, "REGISTER", 1010, pw),
            Err(DigestError::Rejected)
        );
        assert_eq!(
            auth.verify(&good, "REGISTER", 1000 + NONCE_LIFETIME_S + 1, pw),
            Err(DigestError::Stale)
        );
    }

    #[test]
    fn parses_a_phone_header() {
        let h = r#"Digest username="1001",realm="kefu",nonce="3e8.ab", uri="sip:127.0.0.1", response="0123", algorithm=MD5, cnonce="x,y", qop=auth, nc=00000001"#;
        let a = DigestAnswer::parse(h).expect("valid header");
        assert_eq!(a.username, "1001");
        assert_eq!(a.cnonce.as_deref(), Some("x,y"));
        assert_eq!(a.qop.as_deref(), Some("auth"));
        assert_eq!(
            DigestAnswer::parse("Basic abc"),
            Err(DigestError::Malformed("not a Digest credential"))
        );
        assert_eq!(
            DigestAnswer::parse("Digest realm=\"x\""),
            Err(DigestError::Malformed("username"))
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_headers_never_panic(s in ".{0,300}") {
            let _ = DigestAnswer::parse(&s);
        }
    }
}
