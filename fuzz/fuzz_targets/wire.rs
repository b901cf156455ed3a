//! The daemon wire decoders, `decode_request` and `decode_response`, on any bytes: no panic,
//! and whatever decodes re-encodes to a frame that decodes to the same message (so the encoder
//! and decoder agree and a validated request stays valid). The same bytes also go through
//! `read_frame`, the length-prefixed reader both sides use.
#![no_main]
use gatehouse_policy::wire::{self, Request};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(req) = wire::decode_request(data) {
        let again = wire::encode_request(&req).expect("a decoded request encodes");
        let back: Request = wire::decode_request(&again).expect("an encoded request decodes");
        assert_eq!(back, req);
    }
    if let Ok(resp) = wire::decode_response(data) {
        let again = wire::encode_response(&resp).expect("a decoded response encodes");
        assert_eq!(wire::decode_response(&again).expect("an encoded response decodes"), resp);
    }
    let _ = wire::read_frame(&mut &data[..], wire::MAX_FRAME);
});
