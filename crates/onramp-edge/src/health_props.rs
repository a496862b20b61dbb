//! Property tests of response matching (issue 8, "fuzzing that stays"; payload decoding is
//! tested where it happens, `onramp_core::probe`): a TCP send/expect probe against a loopback
//! origin answering arbitrary bytes in arbitrary pieces is healthy exactly when the expected
//! bytes occur in the answer.

use std::net::SocketAddr;

use onramp_core::{HealthCheck, Protocol};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{contains, tcp_probe, Probe};

fn naive_contains(hay: &[u8], needle: &[u8]) -> bool {
    (0..=hay.len()).any(|i| hay[i..].starts_with(needle))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn matching_is_substring_search(
        hay in prop::collection::vec(0u8..4, 0..64),
        needle in prop::collection::vec(0u8..4, 0..6),
        a in prop::collection::vec(any::<u8>(), 0..16),
        b in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        prop_assert_eq!(contains(&hay, &needle), naive_contains(&hay, &needle));
        let embedded = [a.as_slice(), needle.as_slice(), b.as_slice()].concat();
        prop_assert!(contains(&embedded, &needle));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn tcp_probe_is_healthy_exactly_when_the_answer_contains_the_expected_bytes(
        answer in prop::collection::vec(any::<u8>(), 0..2048),
        expect in prop::collection::vec(any::<u8>(), 1..8),
        plant in prop::option::of(any::<usize>()),
        pieces in prop::collection::vec(1usize..300, 1..8),
    ) {
        let mut answer = answer;
        if let Some(at) = plant {
            let at = at % (answer.len() + 1);
            answer.splice(at..at, expect.iter().copied());
        }
        let want = naive_contains(&answer, &expect);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let got = rt.block_on(probe_against(answer, pieces, expect));
        prop_assert_eq!(got, want);
    }
}

/// Run a send/expect TCP probe against a loopback origin that reads the request, answers
/// `answer` in `pieces`-sized writes and closes.
async fn probe_against(answer: Vec<u8>, pieces: Vec<usize>, expect: Vec<u8>) -> bool {
    let origin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = origin.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = origin.accept().await.unwrap();
        let mut req = [0u8; 4];
        let _ = s.read_exact(&mut req).await;
        let mut rest = answer.as_slice();
        for n in pieces.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at((*n).min(rest.len()));
            if s.write_all(now).await.is_err() || s.flush().await.is_err() {
                return;
            }
            rest = later;
            tokio::task::yield_now().await;
        }
    });
    let probe = Probe {
        protocol: Protocol::Tcp,
        check: HealthCheck {
            custom: true,
            send_bytes: b"PING".to_vec(),
            expect_bytes: expect,
            ..HealthCheck::default()
        },
        fallback_port: 0,
    };
    let healthy = tokio::time::timeout(std::time::Duration::from_secs(10), tcp_probe(addr, &probe))
        .await
        .expect("the probe ends when the origin closes");
    let _ = server.await;
    healthy
}
