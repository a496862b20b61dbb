//! Console sessions: a random token in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` over
//! TLS) names a session in memory, which holds the key it was opened with, its CSRF token and a
//! one-shot message for the next page. A session ends at logout, after `idle` without a request,
//! `ttl` after login, or when its key is disabled (checked on every request by the caller step).
//! The table is bounded: past `MAX_SESSIONS` the longest-idle session is dropped.
//!
//! Sessions live in the process that made them: behind a load balancer over several control
//! nodes, the console needs sticky sessions (see docs/operations.md).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;

/// Most sessions held at once (all accounts).
pub const MAX_SESSIONS: usize = 10_000;
/// The session cookie's name.
pub const COOKIE: &str = "onramp_session";
/// The login form's double-submit cookie (a login needs a form this console served).
pub const LOGIN_COOKIE: &str = "onramp_login";

/// A 256-bit random token, hex.
pub fn token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[derive(Debug, Clone)]
pub struct Session {
    /// The SecretId the session was opened with.
    pub secret_id: String,
    pub csrf: String,
    created: Instant,
    last_seen: Instant,
    /// Shown once on the next page (a change that was made).
    flash: Option<String>,
}

pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    ttl: Duration,
    idle: Duration,
    cap: usize,
}

impl Sessions {
    pub fn new(ttl: Duration, idle: Duration) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            ttl,
            idle,
            cap: MAX_SESSIONS,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.created) < self.ttl && now.duration_since(s.last_seen) < self.idle
    }

    /// Open a session for `secret_id`; returns its token.
    pub fn open(&self, secret_id: &str, now: Instant) -> String {
        let mut map = self.lock();
        if map.len() >= self.cap {
            map.retain(|_, s| self.alive(s, now));
        }
        while map.len() >= self.cap {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            map.remove(&oldest);
        }
        let t = token();
        map.insert(
            t.clone(),
            Session {
                secret_id: secret_id.to_string(),
                csrf: token(),
                created: now,
                last_seen: now,
                flash: None,
            },
        );
        t
    }

    /// The live session of `token` (its idle clock restarts).
    pub fn touch(&self, token: &str, now: Instant) -> Option<Session> {
        let mut map = self.lock();
        let alive = map.get(token).is_some_and(|s| self.alive(s, now));
        if !alive {
            map.remove(token);
            return None;
        }
        let s = map.get_mut(token)?;
        s.last_seen = now;
        Some(s.clone())
    }

    /// The message left for this page, taken.
    pub fn take_flash(&self, token: &str) -> Option<String> {
        self.lock().get_mut(token).and_then(|s| s.flash.take())
    }

    /// Leave `message` for the session's next page.
    pub fn flash(&self, token: &str, message: String) {
        if let Some(s) = self.lock().get_mut(token) {
            s.flash = Some(message);
        }
    }

    pub fn close(&self, token: &str) {
        self.lock().remove(token);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: `max_age` seconds (0 deletes it), on `path`.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_or_old_and_end_at_close() {
        let s = Sessions::new(Duration::from_secs(100), Duration::from_secs(10));
        let t0 = Instant::now();
        let a = s.open("AKIDa", t0);
        let sess = s.touch(&a, t0 + Duration::from_secs(9)).unwrap();
        assert_eq!(sess.secret_id, "AKIDa");
        assert_eq!(sess.csrf.len(), 64);
        // Each request restarts the idle clock, but not the absolute one.
        assert!(s.touch(&a, t0 + Duration::from_secs(18)).is_some());
        assert!(s.touch(&a, t0 + Duration::from_secs(29)).is_none(), "idle");
        let b = s.open("AKIDb", t0);
        for i in 1..=10 {
            assert!(s.touch(&b, t0 + Duration::from_secs(i * 9)).is_some());
        }
        assert!(s.touch(&b, t0 + Duration::from_secs(101)).is_none(), "ttl");
        let c = s.open("AKIDc", t0);
        s.flash(&c, "done".into());
        assert_eq!(s.take_flash(&c).as_deref(), Some("done"));
        assert_eq!(s.take_flash(&c), None, "a message is shown once");
        s.close(&c);
        assert!(s.touch(&c, t0).is_none());
        assert!(s.touch("nope", t0).is_none());
    }

    #[test]
    fn the_table_is_bounded() {
        let mut s = Sessions::new(Duration::from_secs(100), Duration::from_secs(100));
        s.cap = 50;
        let t0 = Instant::now();
        let first = s.open("k", t0);
        for i in 0..50 {
            s.open("k", t0 + Duration::from_millis(i + 1));
        }
        assert_eq!(s.len(), 50);
        assert!(s.touch(&first, t0).is_none(), "the longest idle went first");
    }

    #[test]
    fn cookies_are_found_and_made_strict() {
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::COOKIE,
            "a=1; onramp_session=xyz".parse().unwrap(),
        );
        h.append(http::header::COOKIE, "b=2".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie(COOKIE, "v", "/console", 60, true);
        assert_eq!(
            c,
            "onramp_session=v; Path=/console; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_cookie(COOKIE, "v", "/", 0, false).contains("Secure"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
