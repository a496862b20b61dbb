//! Property tests of health-check payloads and response matching (issue 8, "fuzzing that
//! stays"): any configured text or hex decodes without panicking, hex round-trips, and a TCP
//! send/expect probe against a loopback origin answering arbitrary bytes in arbitrary pieces is
//! healthy exactly when the expected bytes occur in the answer.

use std::net::SocketAddr;

use onramp_core::{HealthCheck, LineSeparator, PayloadFormat, Protocol};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{contains, payload, tcp_probe, Probe};

fn format() -> impl Strategy<Value = PayloadFormat> {
    prop_oneof![Just(PayloadFormat::Text), Just(PayloadFormat::Hex)]
}

fn separator() -> impl Strategy<Value = LineSeparator> {
    prop_oneof![
        Just(LineSeparator::Unset),
        Just(LineSeparator::Lf),
        Just(LineSeparator::Cr),
        Just(LineSeparator::LfCr),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn naive_contains(hay: &[u8], needle: &[u8]) -> bool {
    (0..=hay.len()).any(|i| hay[i..].starts_with(needle))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn payloads_take_any_text(text in "\\PC{0,64}|[\\\\rn\r\n a]{0,32}", f in format(), sep in separator()) {
        let out = payload(&text, f, sep);
        if f == PayloadFormat::Hex {
            prop_assert!(out.len() <= text.len() / 2);
        }
    }

    #[test]
    fn text_lines_end_with_the_chosen_separator(text in "[\\\\n\n a-qs-z]{0,48}", sep in separator()) {
        // Lines broken by LF or by the `\n` escape; no CR and no `\r` escape in the input.
        let out = payload(&text, PayloadFormat::Text, sep);
        let lone_lf = out.iter().enumerate().any(|(i, b)| *b == b'\n' && (i == 0 || out[i - 1] != b'\r'));
        match sep {
            LineSeparator::Lf | LineSeparator::Unset => prop_assert!(!out.contains(&b'\r')),
            LineSeparator::Cr => prop_assert!(!out.contains(&b'\n')),
            LineSeparator::LfCr => prop_assert!(!lone_lf),
        }
    }

    #[test]
    fn hex_payloads_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64), upper in any::<bool>()) {
        let text = if upper { hex(&bytes).to_uppercase() } else { hex(&bytes) };
        prop_assert_eq!(payload(&text, PayloadFormat::Hex, LineSeparator::Unset), bytes);
    }

    #[test]
    fn plain_text_is_sent_as_is(text in "[ -\\[\\]-~]{0,64}", sep in separator()) {
        // No backslash, CR or LF: nothing to translate.
        prop_assert_eq!(payload(&text, PayloadFormat::Text, sep), text.into_bytes());
    }

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
        let got = rt.block_on(probe_against(answer, pieces, hex(&expect)));
        prop_assert_eq!(got, want);
    }
}

/// Run a send/expect TCP probe against a loopback origin that reads the request, answers
/// `answer` in `pieces`-sized writes and closes.
async fn probe_against(answer: Vec<u8>, pieces: Vec<usize>, expect_hex: String) -> bool {
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
            payload_format: PayloadFormat::Hex,
            send: "50494e47".into(), // "PING"
            expect: expect_hex,
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
