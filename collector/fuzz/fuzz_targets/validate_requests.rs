//! Request validation against arbitrary bytes: each request message perchd
//! validates is decoded from the input and checked; nothing may panic, and
//! a request that passes must pass again, with the same result, after an
//! encode and decode round trip (so what perchd checked is what it acts
//! on, whatever encoding the client chose).
#![no_main]

use libfuzzer_sys::fuzz_target;
use perch_proto::v1::{ActRequest, ListProcessesRequest, WatchEventsRequest};
use perchd::{respond::validate as validate_act, server::validate};
use prost::Message as _;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => act(bytes),
        1 => list(bytes),
        2 => watch(bytes),
        _ => reason(bytes),
    }
});

/// The message again, as perchd's own encoder writes it.
fn round_trip<M: prost::Message + Default>(m: &M) -> M {
    M::decode(m.encode_to_vec().as_slice()).expect("a re-encoded message decodes")
}

fn act(bytes: &[u8]) {
    let Ok(req) = ActRequest::decode(bytes) else {
        return;
    };
    if let Ok(args) = validate_act::act(&req) {
        assert!(!perch_proto::text::is_blank(&args.reason));
        assert!(args.reason.len() <= perch_proto::limits::REASON_MAX_BYTES);
        assert_eq!(validate_act::act(&round_trip(&req)), Ok(args));
    }
}

fn list(bytes: &[u8]) {
    let Ok(req) = ListProcessesRequest::decode(bytes) else {
        return;
    };
    if let Ok(args) = validate::list(&req) {
        assert!(args.pids.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        assert!(args.chunk_size >= 1);
        assert_eq!(validate::list(&round_trip(&req)).ok(), Some(args));
    }
}

fn watch(bytes: &[u8]) {
    // The last 8 bytes, when there are that many, are the hub's head.
    let (msg, head) = match bytes.len().checked_sub(8) {
        Some(at) => {
            let (msg, tail) = bytes.split_at(at);
            let mut head = [0u8; 8];
            head.copy_from_slice(tail);
            (msg, u64::from_le_bytes(head))
        }
        None => (bytes, 0),
    };
    let Ok(req) = WatchEventsRequest::decode(msg) else {
        return;
    };
    if let Ok(args) = validate::watch(&req, head) {
        assert!(args.resume_after.is_none_or(|n| n <= head));
        assert_eq!(validate::watch(&round_trip(&req), head).ok(), Some(args));
    }
}

fn reason(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    // Blank text has nothing visible; anything with a visible letter is
    // not blank (Hangul fillers are letters that draw nothing).
    let blank = perch_proto::text::is_blank(&text);
    let visible = |c: char| c.is_alphanumeric() && !perch_proto::text::is_invisible(c);
    if text.chars().any(visible) && !text.contains('\u{1b}') && !text.contains('\u{9b}') {
        assert!(!blank, "{text:?}");
    }
}
