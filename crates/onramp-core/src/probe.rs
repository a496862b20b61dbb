//! Health-check payloads: the bytes a send/expect probe writes and looks for, decoded once from
//! the text a dialect was given (hex digits, or text whose line breaks become the chosen
//! separator). The operations decode when a check is written, so bad hex is refused at the API
//! and the edge sends the stored bytes as they are.

use crate::model::{LineSeparator, PayloadFormat};
use crate::validate::{hex_payload, Invalid};

/// The bytes of `text` read as `format`; text line breaks (LF, CRLF, or the escapes `\n`,
/// `\r\n`) become `sep`, and with no separator chosen the escapes `\r` and `\n` stand for CR and
/// LF.
pub fn decode(
    field: &str,
    text: &str,
    format: PayloadFormat,
    sep: LineSeparator,
) -> Result<Vec<u8>, Invalid> {
    match format {
        PayloadFormat::Hex => hex_payload(field, text),
        PayloadFormat::Text => Ok(decode_text(text, sep)),
    }
}

fn decode_text(text: &str, sep: LineSeparator) -> Vec<u8> {
    let nl = match sep {
        LineSeparator::Unset => return text.replace("\\r", "\r").replace("\\n", "\n").into_bytes(),
        LineSeparator::Lf => "\n",
        LineSeparator::Cr => "\r",
        LineSeparator::LfCr => "\r\n",
    };
    text.replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\r\n", "\n")
        .replace('\n', nl)
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    #[test]
    fn the_documented_examples() {
        let req = "GET / HTTP/1.1\\r\\nHost:a.com\\r\\n\\r\\n";
        let want = b"GET / HTTP/1.1\r\nHost:a.com\r\n\r\n".to_vec();
        let got = decode("r", req, PayloadFormat::Text, LineSeparator::LfCr).unwrap();
        assert_eq!(got, want);
        let got = decode("r", "a\nb", PayloadFormat::Text, LineSeparator::Cr).unwrap();
        assert_eq!(got, b"a\rb");
        let got = decode("r", "0a 0B", PayloadFormat::Hex, LineSeparator::Lf).unwrap();
        assert_eq!(got, [10, 11]);
        let e = decode(
            "healthRequest",
            "0g",
            PayloadFormat::Hex,
            LineSeparator::Unset,
        );
        assert_eq!(e.unwrap_err().field, "healthRequest");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn payloads_take_any_text(text in "\\PC{0,64}|[\\\\rn\r\n a]{0,32}", f in format(), sep in separator()) {
            if let Ok(out) = decode("p", &text, f, sep) {
                if f == PayloadFormat::Hex {
                    prop_assert!(out.len() <= text.len() / 2);
                }
            }
        }

        #[test]
        fn text_lines_end_with_the_chosen_separator(text in "[\\\\n\n a-qs-z]{0,48}", sep in separator()) {
            // Lines broken by LF or by the `\n` escape; no CR and no `\r` escape in the input.
            let out = decode("p", &text, PayloadFormat::Text, sep).unwrap();
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
            prop_assert_eq!(decode("p", &text, PayloadFormat::Hex, LineSeparator::Unset).unwrap(), bytes);
        }

        #[test]
        fn plain_text_is_sent_as_is(text in "[ -\\[\\]-~]{0,64}", sep in separator()) {
            // No backslash, CR or LF: nothing to translate.
            prop_assert_eq!(decode("p", &text, PayloadFormat::Text, sep).unwrap(), text.into_bytes());
        }
    }
}
